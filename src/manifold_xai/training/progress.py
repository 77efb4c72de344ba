"""Progress of a training loop in the job log: within an epoch at most every ``interval`` seconds, with
the time spent and an estimate of the time left (from the mean time per step so far)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

log = logging.getLogger("manifold_xai")


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(max(0.0, seconds))))


class Progress:
    """``step()`` after each update; lines look like ``classifier epoch 3/10 batch 40/125, 0:00:45
    spent, about 0:01:20 left``. ``epochs``/``batches``: the loop's totals, ``first_epoch``: where a
    resumed loop starts (its steps are not counted in the rate)."""

    def __init__(
        self,
        name: str,
        *,
        epochs: int,
        batches: int,
        first_epoch: int = 0,
        interval: float = 15.0,
        clock=time.monotonic,
    ):
        self.name, self.epochs, self.batches = name, epochs, batches
        self.interval, self.clock = interval, clock
        self.total = (epochs - first_epoch) * batches
        self.done = 0
        self.started = self.last = clock()

    def left(self) -> float:
        """Estimated seconds left: the mean time per step so far times the steps to go."""
        spent = self.clock() - self.started
        return spent / self.done * (self.total - self.done) if self.done else float("nan")

    def step(self, epoch: int, batch: int) -> None:
        """After update ``batch`` (1-based) of ``epoch`` (0-based)."""
        self.done += 1
        now = self.clock()
        if now - self.last < self.interval or batch == self.batches:
            return
        self.last = now
        log.info(
            "%s epoch %d/%d batch %d/%d, %s spent, about %s left",
            self.name,
            epoch + 1,
            self.epochs,
            batch,
            self.batches,
            _clock(now - self.started),
            _clock(self.left()),
        )

    def summary(self) -> str:
        """``, 0:00:45 spent, about 0:01:20 left`` for the end-of-epoch line."""
        return f", {_clock(self.clock() - self.started)} spent, about {_clock(self.left())} left"
