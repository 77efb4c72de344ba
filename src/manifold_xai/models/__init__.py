"""Neural networks: the (β-TC)VAE manifold model and the classifiers."""
