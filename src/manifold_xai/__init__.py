"""manifold-xai."""
