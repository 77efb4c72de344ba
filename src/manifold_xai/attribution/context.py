"""The manifold context of a pipeline job: the dataset's decoder (or renderer), the latents of the rows
being explained and, when a method projects, their tangent spaces by the tangent stores' definition
(``tangent.space.decoder_tangent_space`` with the dataset's ``tangent:`` options)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from manifold_xai.attribution.registry import method_needs

if TYPE_CHECKING:  # torch is imported by the jobs that load a context, not by the Snakefile
    from manifold_xai.attribution.manifold import ManifoldContext


def needs_manifold(methods: dict[str, dict]) -> set[str]:
    """What the (expanded) ``methods`` together need of the manifold (``"tangent"``, ``"decoder"``)."""
    return set().union(*(method_needs(name, block) for name, block in methods.items()))


def load_context(manifold_path, data_path, rows, tangent: dict, device) -> ManifoldContext:
    """The context of data rows ``rows (n,)``: the manifold model at ``manifold_path`` (prepared, on
    ``device``), the rows' latents and their tangent spaces, batch by batch, from ``tangent`` (a dataset's
    ``tangent:`` block: ``rank_rtol``, ``orthonormalisation``, ``rank_rule``, ``projection``,
    ``matrix_free_above``, ``matrix_free_dtype``)."""
    from manifold_xai.attribution.manifold import ManifoldContext
    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.models.io import load_model
    from manifold_xai.tangent.bases import prepare_decoder
    from manifold_xai.tangent.space import decoder_tangent_space, uses_matrix_free

    model = prepare_decoder(load_model(manifold_path, device))
    latents = np.asarray(read_rows(data_path, "latents", np.asarray(rows)), np.float32)
    d = math.prod(store_attrs(data_path)["image_shape"])

    def tangent_at(samples):
        return decoder_tangent_space(
            model,
            latents[samples],
            device=device,
            rtol=tangent["rank_rtol"],
            method=tangent["orthonormalisation"],
            rank_rule=tangent["rank_rule"],
            matrix_free=uses_matrix_free(tangent, latents.shape[1], d),
            matrix_free_dtype=tangent["matrix_free_dtype"],
        )

    return ManifoldContext(decode=model.decode, latents=latents, tangent_at=tangent_at)


def context_for(methods: dict[str, dict], manifold_path, data_path, rows, tangent, device):
    """``load_context`` when one of the (expanded) ``methods`` needs the manifold, else None (nothing
    loaded)."""
    if not needs_manifold(methods):
        return None
    return load_context(manifold_path, data_path, rows, tangent, device)
