"""Images from a folder (the medical datasets' layout): one folder per class, or a CSV of file names and
labels, read, converted to the configured colour and resized.
"""

from __future__ import annotations

import numpy as np

from manifold_xai.data.source_data import SourceData, resize_images
from manifold_xai.data.splits import TEST, TRAIN


def load_image_folder_source(
    root: str,
    layout: str = "class_folders",
    splits: dict | None = None,
    labels: dict | None = None,
    images_dir: str = ".",
    file_column: str = "Index",
    label_column: str = "B_Lable",
    file_suffix: str = "",
    label_map: dict | None = None,
    color: str = "gray3",
    image_size: list[int] | None = None,
    normalise: str = "min_max",
    max_per_split: int | None = None,
) -> SourceData:
    """A local folder of images (the paper's X-ray pneumonia and diabetic retinopathy; docs/paper.md §1.3).

    ``layout: class_folders``: ``root/<split folder>/<class folder>/<image>`` (the Kaggle chest-xray
    layout ``train/NORMAL``, ``test/PNEUMONIA``); ``splits`` names the split folders
    (default ``{train: train, test: test}``). ``layout: csv``: ``labels`` maps each split to a CSV under
    ``root`` with ``file_column`` (file name under ``root/images_dir``, plus ``file_suffix``) and
    ``label_column`` (the paper's ``Index`` and ``B_Lable``). ``label_map`` maps raw labels (folder names or
    CSV values, as strings) to class indices, e.g. ``{NORMAL: 0, PNEUMONIA: 1}`` or retinopathy grades
    ``{0: 0, 1: 1, 2: 1, 3: 1, 4: 1}`` (binary as the paper); without it the sorted raw labels are numbered.

    ``color``: ``gray3`` (greyscale stacked to 3 channels, the paper's pneumonia), ``rgb`` (retinopathy) or
    ``gray``. ``image_size: [height, width]`` resizes every image (bilinear, antialiased); ``null`` keeps
    the files' size, which must then agree. ``normalise: min_max`` maps each image to [0, 1] by its own
    minimum and maximum, as the paper's loaders; ``none`` divides 8-bit values by 255.
    ``max_per_split``: keep the first n images of each split (sorted by file name) for a smaller run.
    """
    from pathlib import Path

    base = Path(root).expanduser()
    if not base.is_dir():
        raise FileNotFoundError(
            f"image_folder: the data directory {base} does not exist (see README)"
        )
    if layout == "class_folders":
        entries = _class_folder_entries(base, splits or {"train": "train", "test": "test"})
    elif layout == "csv":
        if not labels:
            raise ValueError("image_folder: layout csv needs `labels: {train: <csv>, test: <csv>}`")
        entries = _csv_entries(
            base, labels, base / images_dir, file_column, label_column, file_suffix
        )
    else:
        raise ValueError(f"image_folder: unknown layout {layout!r}; known: class_folders, csv")
    if max_per_split is not None:
        entries = {k: v[:max_per_split] for k, v in entries.items()}
    raw = sorted({lab for part in entries.values() for _, lab in part})
    if label_map is None:
        label_map = {lab: i for i, lab in enumerate(raw)}
    label_map = {str(k): int(v) for k, v in label_map.items()}
    unknown = [lab for lab in raw if lab not in label_map]
    if unknown:
        raise ValueError(
            f"image_folder: labels {unknown} under {base} are not in label_map {label_map}"
        )
    files = [
        (path, label_map[lab], which) for which in (TRAIN, TEST) for path, lab in entries[which]
    ]
    images = _read_images(files, color, image_size, normalise)
    return SourceData(
        images=images,
        labels=np.array([lab for _, lab, _ in files], np.int64),
        split=np.array([which for _, _, which in files], np.int8),
        n_classes=max(label_map.values()) + 1,
        description=f"image folder {base} ({layout}, {color}, {images.shape[2]}x{images.shape[3]})",
    )


def _class_folder_entries(base, splits: dict) -> dict[int, list[tuple]]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    entries = {}
    for which, name in ((TRAIN, splits["train"]), (TEST, splits["test"])):
        folder = base / name
        if not folder.is_dir():
            raise FileNotFoundError(f"image_folder: the split folder {folder} does not exist")
        found = [
            (p, cls.name)
            for cls in sorted(folder.iterdir())
            if cls.is_dir()
            for p in sorted(cls.iterdir())
            if p.suffix.lower() in IMG_EXTENSIONS
        ]
        if not found:
            raise ValueError(f"image_folder: no images in class folders under {folder}")
        entries[which] = found
    return entries


def _csv_entries(
    base, labels: dict, images, file_column, label_column, suffix
) -> dict[int, list[tuple]]:
    import pandas as pd

    entries = {}
    for which, name in ((TRAIN, "train"), (TEST, "test")):
        if name not in labels:
            raise ValueError(f"image_folder: `labels` has no {name!r} CSV")
        csv = base / labels[name]
        if not csv.is_file():
            raise FileNotFoundError(f"image_folder: the labels CSV {csv} does not exist")
        table = pd.read_csv(csv, dtype=str)
        missing = [c for c in (file_column, label_column) if c not in table.columns]
        if missing:
            raise ValueError(
                f"image_folder: {csv} has no column {missing} (columns: {list(table.columns)})"
            )
        if table.empty:
            raise ValueError(f"image_folder: {csv} lists no images")
        found = [
            (images / f"{f}{suffix}", str(lab))
            for f, lab in zip(table[file_column], table[label_column], strict=True)
        ]
        absent = [str(p) for p, _ in found if not p.is_file()]
        if absent:
            raise FileNotFoundError(
                f"image_folder: {len(absent)} images listed in {csv} are missing, e.g. {absent[0]}"
            )
        entries[which] = found
    return entries


def _read_images(files, color: str, image_size, normalise: str) -> np.ndarray:
    """``(n, c, h, w) float32`` from image files; errors name the offending file."""
    from PIL import Image, UnidentifiedImageError

    mode = {"gray3": "L", "gray": "L", "rgb": "RGB"}[color]
    out, first = None, None
    for i, (path, _, _) in enumerate(files):
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert(mode), dtype=np.float32)
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"image_folder: {path} is not a readable image ({e})") from e
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (c, h, w)
        if image_size is None:
            if first is None:
                first = (path, arr.shape)
            elif arr.shape != first[1]:
                raise ValueError(
                    f"image_folder: images of mixed sizes: {first[0]} is {first[1][1]}x{first[1][2]}, {path} is "
                    f"{arr.shape[1]}x{arr.shape[2]} (height x width); set `image_size: [height, width]` to resize them"
                )
        if normalise == "min_max":  # per image, as the paper's loaders (a constant image becomes 0)
            lo, hi = arr.min(), arr.max()
            arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        else:
            arr = arr / 255.0
        if image_size is not None:
            arr = resize_images(arr[None], tuple(image_size))[0]
        if color == "gray3":
            arr = np.repeat(arr, 3, axis=0)
        if out is None:
            out = np.empty((len(files), *arr.shape), np.float32)
        out[i] = arr
    return out
