"""The fraction in tangent space as a metric of (input, attribution) pairs, for Captum users.

``TangentFraction(space, images)`` knows the tangent space of each image (``space`` sample ``i`` belongs
to ``images[i]``) and maps a batch of inputs to their tangent spaces **by content**, so batches may come
in any order or size. Like ``captum.metrics``, a call takes tensors and returns a tensor::

    metric = TangentFraction(space, images)
    scores = metric(inputs, Saliency(model).attribute(inputs, target=labels))   # (b,) float64

The Quantus metric class (``manifold_xai.quantus_metric.TangentAlignment``) is built on the same lookup.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from manifold_xai.api import fractions
from manifold_xai.attribution.compute import as_numpy
from manifold_xai.tangent.space import TangentSpace


def _key(image: np.ndarray) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(image, dtype=np.float32).tobytes()).digest()


class TangentFraction:
    """``||P_T a|| / ||a||`` of each attribution ``a`` at its input's tangent space (module docstring).

    ``space``: a ``TangentSpace`` with ``n`` samples; ``images (n, c, h, w)``: the image of each sample
    (compared as float32 bytes).
    """

    def __init__(self, space: TangentSpace, images):
        images = as_numpy(images, np.float32)
        if len(images) != space.n:
            raise ValueError(f"{len(images)} images for {space.n} tangent spaces")
        if int(np.prod(images.shape[1:])) != space.d:
            raise ValueError(f"images of shape {images.shape[1:]} are not in R^{space.d}")
        self.space = space
        self.index = {_key(image): i for i, image in enumerate(images)}

    def samples_of(self, inputs) -> np.ndarray:
        """``(b,) int64``: the tangent-space sample of each input; ``KeyError`` naming an unknown one."""
        inputs = as_numpy(inputs, np.float32)
        samples = np.empty(len(inputs), dtype=np.int64)
        for j, image in enumerate(inputs):
            i = self.index.get(_key(image))
            if i is None:
                raise KeyError(
                    f"input {j} is none of the {self.space.n} images this metric has tangent spaces for"
                )
            samples[j] = i
        return samples

    def scores(self, inputs, attributions) -> np.ndarray:
        """``(b,) float64`` fractions in [0, 1] (NaN for a zero attribution or an undefined tangent space)."""
        attributions = as_numpy(attributions, np.float32)
        samples = self.samples_of(inputs)
        return fractions(self.space, attributions.reshape(len(attributions), -1), samples)

    def __call__(self, inputs, attributions) -> torch.Tensor:
        """``(b,) float64`` tensor of ``scores``, on the device of ``inputs`` when it is a tensor."""
        device = inputs.device if isinstance(inputs, torch.Tensor) else "cpu"
        return torch.from_numpy(self.scores(inputs, attributions)).to(device)
