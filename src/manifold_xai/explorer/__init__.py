"""The explorer: one page, ``results/explorer/index.html``, that browses every test image of a run with
every attribution map, its tangent and orthogonal parts and their numbers, read from the stores the run
already wrote (nothing is recomputed but the projections onto the stored tangent bases).

- ``pack``: maps quantised to 64 levels of their own symmetric scale and packed into sprite sheets
  (lossless WebP, embedded as data URLs in small JavaScript files the page loads as they come into view:
  a page opened from ``file://`` can read the pixels of a data URL, not of a sibling image file).
- ``gather``: one (dataset, seed) run's stores, page by page of images, with what is missing or unreadable.
- ``build``: the index of numbers, the chunks and the page (``assets/``: its HTML, CSS and JavaScript).
"""

from manifold_xai.explorer.build import build_explorer

__all__ = ["build_explorer"]
