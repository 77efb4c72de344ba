"""β-TCVAE objective (Chen et al., 2018) with minibatch stratified sampling.

loss = reconstruction + α·MI + β·TC + γ·anneal·dimension-wise KL, per sample, averaged over the batch.

The reference implementation the paper's authors used (YannDubs/disentangling-vae) fills the
stratified-sampling weight matrix with ``W.view(-1)[::M+1] = 1/N``, which writes column 0 rather than
the diagonal. We build the matrix as Chen et al. define it: weight 1/N for the
sample itself, (N-M)/(N·M) for one other sample and 1/M for the rest, so every row sums to one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def log_gaussian_density(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; mean, exp(logvar)), broadcasting."""
    return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 * torch.exp(-logvar))


def stratified_log_weights(batch_size: int, dataset_size: int) -> torch.Tensor:
    """``(B, B)`` log importance weights of minibatch stratified sampling; rows sum to 1 in linear scale."""
    b, n = batch_size, dataset_size
    if b < 2:
        raise ValueError("minibatch stratified sampling needs a batch of at least 2")
    m = b - 1
    w = torch.full((b, b), 1.0 / m)
    idx = torch.arange(b)
    w[idx, idx] = 1.0 / n
    w[idx, (idx + 1) % b] = (n - m) / (n * m)
    return w.log()


def btcvae_loss(
    recon_logits: torch.Tensor,
    x: torch.Tensor,
    mean: torch.Tensor,
    logvar: torch.Tensor,
    z: torch.Tensor,
    dataset_size: int,
    alpha: float,
    beta: float,
    gamma: float,
    anneal: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """β-TCVAE loss with a Bernoulli likelihood (BCE on logits, summed over pixels).

    Shapes: ``recon_logits, x (B, c, h, w)``; ``mean, logvar, z (B, k)``. Returns the scalar loss and its
    parts (floats, per sample) for logging.
    """
    b = x.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum") / b

    log_q_z_given_x = log_gaussian_density(z, mean, logvar).sum(1)
    log_p_z = log_gaussian_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    # (B, B, k): log q(z_i | x_j)
    mat = log_gaussian_density(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0))
    log_w = stratified_log_weights(b, dataset_size).to(z)
    log_q_z = torch.logsumexp(log_w + mat.sum(2), dim=1)
    log_prod_q_zi = torch.logsumexp(log_w.unsqueeze(2) + mat, dim=1).sum(1)

    mi = (log_q_z_given_x - log_q_z).mean()
    tc = (log_q_z - log_prod_q_zi).mean()
    dw_kl = (log_prod_q_zi - log_p_z).mean()
    loss = rec + alpha * mi + beta * tc + anneal * gamma * dw_kl
    parts = {"rec": rec.item(), "mi": mi.item(), "tc": tc.item(), "dw_kl": dw_kl.item()}
    return loss, parts
