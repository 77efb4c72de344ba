"""Shapes the config check needs, kept free of torch: the Snakefile checks every config (dry runs
and cluster jobs included) and must not pay for importing torch. The model classes and the sources
read their values from here, so each number has this one home."""

from __future__ import annotations

# channels of each built-in image source (an image folder's come from its ``color``)
SOURCE_CHANNELS = {
    "digits": 1,
    "mnist": 1,
    "mnist_packaged": 1,
    "emnist": 1,
    "cifar10": 3,
    "torus": 1,
}
TORUS_PARAMS = 2  # (φ, θ): the torus's manifold is 2-dimensional
# the smallest image side each classifier architecture accepts
MIN_IMAGE_SIZE = {
    "lenet": 6,  # two 3×3 convolutions and a 2×2 pool
    "simplenet": 1,  # padded convolutions, pools that keep at least one pixel
    "vgg16": 32,  # five 2×2 pools
    "resnet18": 32,  # 32-fold downsampling
}


def autoencoder_latent_shape(
    image_size: tuple[int, int], latent_channels: int, stride: int
) -> tuple[int, int, int]:
    """``(latent_channels, H / stride, W / stride)``: the convolutional autoencoder's latent of images of
    ``image_size`` ``(H, W)``."""
    return (latent_channels, image_size[0] // stride, image_size[1] // stride)
