"""Artifact I/O: atomic writes, Zarr v3 stores, content digests.

Every artifact is written to a temporary sibling (``.<name>.tmp-<pid>``) and renamed into place only
when complete, so a killed job never leaves anything that looks finished. Zarr stores are opened with
the v3 format; arrays carry ``dimension_names``. A store is finished (``finish_store``) just before it is
renamed into place: every dimension without a coordinate gets an integer one (``0 … n-1``), and the
metadata is consolidated, so that ``xarray.open_zarr(path)`` opens it with coordinates on every
dimension and without a warning. The dimension of attribution methods is named ``method_name`` (a
string coordinate): ``method`` would collide with the keyword of ``Dataset.sel``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import zarr

DIGEST_CHUNK = 1 << 20
# Files that are not content: Snakemake writes this marker into directory outputs after a job ends.
DIGEST_IGNORED = frozenset({".snakemake_timestamp"})


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path to write a file or directory into; rename it to ``path`` on success.

    On any exception the temporary is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(path)
    # Leftovers of killed writers of the same artifact (Snakemake runs one job per output at a time).
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        _remove(stale)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to {tmp} for {path}")
        if (tmp / "zarr.json").is_file():
            finish_store(tmp)
        _remove(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def finish_store(path: str | os.PathLike) -> None:
    """Give every dimension of the Zarr group at ``path`` a coordinate array (``0 … n-1`` int64 where
    none was written) and consolidate its metadata (module docstring)."""
    group = zarr.open_group(str(path), mode="r+")
    sizes: dict[str, int] = {}
    for _, array in group.arrays():
        for dim, size in zip(array.metadata.dimension_names or (), array.shape, strict=True):
            if dim is not None:
                sizes.setdefault(dim, size)
    for dim, size in sizes.items():
        if dim not in group:
            coordinate = create_array(group, dim, (size,), np.int64, (dim,))
            coordinate[...] = np.arange(size, dtype=np.int64)
    with warnings.catch_warnings():  # "not part of the Zarr v3 specification": xarray reads it
        warnings.simplefilter("ignore", category=UserWarning)
        zarr.consolidate_metadata(str(path))


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: object):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_csv(path: str | os.PathLike, table) -> None:
    """A pandas table written atomically as CSV (no index, 6 significant digits): every summary table."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def read_json(path: str | os.PathLike) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e


def sha256_path(path: str | os.PathLike) -> str:
    """Content digest of a file, or of a directory as the sha256 over (relative path, file digest) pairs
    in sorted order; independent of mtimes and of the directory's location. Files named in
    ``DIGEST_IGNORED`` (Snakemake's timestamp marker) are not content and are skipped."""
    path = Path(path)
    if path.is_file():
        return _sha256_file(path)
    if not path.is_dir():
        raise FileNotFoundError(f"cannot digest {path}: no such file or directory")
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in DIGEST_IGNORED):
        rel = f.relative_to(path).as_posix()
        h.update(rel.encode() + b"\0" + _sha256_file(f).encode() + b"\n")
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(DIGEST_CHUNK):
            h.update(block)
    return h.hexdigest()


def size_bytes(path: str | os.PathLike) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def create_store(path: str | os.PathLike, attrs: Mapping | None = None) -> zarr.Group:
    """A new, empty Zarr v3 group at ``path`` (normally the temporary path from ``atomic_path``)."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    if attrs:
        group.attrs.update(dict(attrs))
    return group


# Codecs by name. Measured (benchmarks/store_layout.py, 2 CPU threads): orthonormal float32 bases barely
# compress (ratio 1.05-1.2) and zstd halves their read speed, while Blosc-LZ4 with byte shuffle keeps
# ~3 GB/s reads and the Dask fraction within 10% of uncompressed; images and attributions compress
# well with zstd.
CODECS = {
    "zstd": lambda: zarr.codecs.ZstdCodec(level=3),
    "lz4": lambda: zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
}


def create_array(
    group: zarr.Group,
    name: str,
    shape: tuple[int, ...],
    dtype,
    dims: tuple[str, ...],
    chunks: tuple[int, ...] | None = None,
    attrs: Mapping | None = None,
    codec: str = "zstd",
) -> zarr.Array:
    """An array in ``group`` with named dimensions, compressed with ``codec`` (``CODECS``), chunked as
    given (default: one chunk)."""
    if len(dims) != len(shape):
        raise ValueError(f"{name}: {len(dims)} dimension names for a {len(shape)}-d shape")
    return group.create_array(
        name,
        shape=shape,
        dtype=dtype,
        chunks=chunks or tuple(max(1, s) for s in shape),
        dimension_names=dims,
        compressors=CODECS[codec](),
        attributes=dict(attrs or {}),
        fill_value=0,
    )


def write_array(
    group: zarr.Group, name: str, data: np.ndarray, dims: tuple[str, ...], chunks=None
) -> zarr.Array:
    arr = create_array(group, name, data.shape, data.dtype, dims, chunks)
    arr[...] = data
    return arr


def write_xarray(ds, path) -> None:
    """Write the xarray Dataset ``ds`` as the Zarr v3 store ``path``, atomically (``atomic_path``: every
    dimension gets a coordinate, metadata consolidated). Fixed-length strings (NumPy ``<U``, which Zarr
    v3 stores as an unspecified UTF-32 type other Zarr libraries may not read) are written as Zarr's
    variable-length UTF-8 strings."""
    ds = ds.copy()
    for name in list(ds.variables):
        if ds[name].dtype.kind in "US":
            values = ds[name].values.astype(object)
            if name in ds.coords:
                ds = ds.assign_coords({name: (ds[name].dims, values)})
            else:
                ds[name] = (ds[name].dims, values, ds[name].attrs)
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False)


def write_labels(group: zarr.Group, dim: str, labels) -> zarr.Array:
    """A string coordinate ``dim (dim,)`` (Zarr's variable-length UTF-8 strings), e.g. the method names."""
    labels = [str(label) for label in labels]
    array = group.create_array(
        dim, shape=(len(labels),), dtype=str, dimension_names=(dim,), fill_value=""
    )
    array[...] = np.array(labels, dtype=object)
    return array


def read_array(group: zarr.Group, name: str, rows=None, *, path=None) -> np.ndarray:
    """Array ``name`` of ``group`` (only ``rows`` of its first axis when given) as NumPy; a chunk that
    cannot be decoded (corrupted or truncated on disk) is one clear error naming the array."""
    arr = group[name]
    try:
        return np.asarray(arr[...] if rows is None else arr.oindex[np.asarray(rows, np.int64)])
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # the codecs raise RuntimeError, ValueError, TypeError, ...
        where = f"{path}/{name}" if path is not None else name
        raise ValueError(
            f"{where}: a chunk cannot be decoded, the store is corrupted or truncated "
            f"({type(e).__name__}: {e})"
        ) from e


def open_store(path: str | os.PathLike, required: tuple[str, ...] = ()) -> zarr.Group:
    """Open an existing store read-only and check that ``required`` arrays are present."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"store {path} does not exist")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as e:  # zarr raises several types for malformed metadata
        raise ValueError(f"{path} is not a readable Zarr store: {e}") from e
    missing = [name for name in required if name not in group]
    if missing:
        raise ValueError(f"store {path} lacks the arrays {missing}")
    return group
