"""Split labels of every dataset store: ``split (n,) int8`` is ``TRAIN`` or ``TEST``.

A module of their own, so that jobs which only need the constants do not import (and, in provenance,
depend on) the source loaders."""

TRAIN, TEST = 0, 1
