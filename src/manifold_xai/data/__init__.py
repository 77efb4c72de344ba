"""Image sources, generated datasets and the ``data.zarr`` format."""
