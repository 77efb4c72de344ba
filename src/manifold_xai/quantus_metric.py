"""The fraction in tangent space as a Quantus metric (``pip install "manifold-xai[quantus]"``).

``TangentAlignment(space, images)`` is a ``quantus.Metric``: call it like any Quantus metric, or hand it
to ``quantus.evaluate``::

    metric = TangentAlignment(space, images)
    scores = metric(model=model, x_batch=x, y_batch=y, a_batch=a)          # list of floats
    quantus.evaluate({"tangent": metric}, {"Saliency": a}, model, x, y)

Each input finds its tangent space by content (``metrics.TangentFraction``). Attributions are measured
as given: signed, not normalised (``abs=False``, ``normalise=False``), since both would change the
direction whose share in tangent space is the metric. Higher is more aligned with the manifold; the
random baseline is ``sqrt(k/d)``.
"""

from __future__ import annotations

import numpy as np

try:
    import quantus
    from quantus.helpers.enums import DataType, EvaluationCategory, ModelType, ScoreDirection
except ImportError as e:  # an optional extra
    raise ImportError(
        'the Quantus metric needs quantus: pip install "manifold-xai[quantus]"'
    ) from e

from manifold_xai.metrics import TangentFraction
from manifold_xai.tangent.space import TangentSpace


class TangentAlignment(quantus.Metric):
    """Fraction ``||P_T a|| / ||a||`` of each attribution in its input's tangent space, in [0, 1]."""

    name = "Tangent alignment"
    data_applicability = {DataType.IMAGE}
    model_applicability = {ModelType.TORCH}
    score_direction = ScoreDirection.HIGHER
    evaluation_category = EvaluationCategory.NONE

    def __init__(self, space: TangentSpace, images, **kwargs):
        kwargs = {"return_aggregate": False, "aggregate_func": np.mean, **kwargs}
        super().__init__(
            abs=False,
            normalise=False,
            normalise_func=None,
            normalise_func_kwargs=None,
            default_plot_func=None,
            disable_warnings=kwargs.pop("disable_warnings", True),
            display_progressbar=kwargs.pop("display_progressbar", False),
            **kwargs,
        )
        self.fraction = TangentFraction(space, images)

    def __call__(
        self,
        model,
        x_batch: np.ndarray,
        y_batch: np.ndarray,
        a_batch: np.ndarray | None = None,
        s_batch: np.ndarray | None = None,
        channel_first: bool | None = True,
        explain_func=None,
        explain_func_kwargs: dict | None = None,
        model_predict_kwargs: dict | None = None,
        softmax: bool | None = False,
        device: str | None = None,
        batch_size: int = 64,
        **kwargs,
    ):
        """Quantus's call: attributions ``a_batch`` (or ``explain_func``'s) of ``x_batch (n, c, h, w)``;
        returns one score per input (a list), or their ``aggregate_func`` with ``return_aggregate``."""
        return super().__call__(
            model=model,
            x_batch=x_batch,
            y_batch=y_batch,
            a_batch=a_batch,
            s_batch=s_batch,
            custom_batch=None,
            channel_first=channel_first,
            explain_func=explain_func,
            explain_func_kwargs=explain_func_kwargs,
            model_predict_kwargs=model_predict_kwargs,
            softmax=softmax,
            device=device,
            batch_size=batch_size,
            **kwargs,
        )

    def evaluate_batch(self, x_batch: np.ndarray, a_batch: np.ndarray, **kwargs) -> np.ndarray:
        """``(b,) float64`` fractions of ``a_batch`` at the tangent spaces of ``x_batch``."""
        return self.fraction.scores(x_batch, a_batch)
