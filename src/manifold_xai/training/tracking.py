"""The checkpoint schedule of a training run: at which gradient steps to save the classifier so that its
explanations' alignment can be followed over training (docs/paper.md §7), and steps per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# docs/paper.md §7: every step to 20, every 25 to 600, every 100 to 2000, every 1000 after.
PAPER_TRACKING_SCHEDULE = (
    {"until": 20, "every": 1},
    {"until": 600, "every": 25},
    {"until": 2000, "every": 100},
    {"until": None, "every": 1000},
)


def tracking_steps(total_steps: int, schedule: Sequence[dict] | None = None) -> list[int]:
    """Gradient-step counts at which to checkpoint (docs/paper.md §7): every step to 20, every 25 to 600,
    every 100 to 2000, every 1000 after, up to ``total_steps``. ``schedule`` overrides it as a list of
    ``{"until": step, "every": k}`` segments (``until: None``: to the end); ``[]`` keeps only the first
    and last step."""
    if schedule is None:
        schedule = PAPER_TRACKING_SCHEDULE
    steps, start = {0}, 0
    for segment in schedule:
        until = total_steps if segment["until"] is None else min(segment["until"], total_steps)
        every = segment["every"]
        steps.update(range((start // every + 1) * every, until + 1, every))  # multiples of `every`
        start = max(start, until)
    steps.add(total_steps)
    return sorted(s for s in steps if 0 <= s <= total_steps)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
