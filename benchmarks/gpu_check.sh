#!/usr/bin/env bash
# The CUDA paths in one call on a machine with a GPU (about 5 minutes on one GPU and 16 cores):
# benchmarks/gpu_check.py runs the tiny pipeline on CUDA and on CPU and compares their fractions, runs
# the tangent benchmark on CUDA, and compares tangent spaces, attributions and the API's fractions on
# CUDA with CPU for the same random-weight models. Without a GPU it says so in one line and exits 1.
#
#   benchmarks/gpu_check.sh fetch   # once, on a machine with the package index: wheels into .whl/
#   benchmarks/gpu_check.sh         # on the GPU machine (carry .whl): install them, run the check
#   benchmarks/gpu_check.sh --device cpu   # the same check with CPU in CUDA's place (a self-test)
#
# The GPU machine's image has python3 (3.12) with torch, numpy, scipy, pandas, xarray, matplotlib,
# scikit-learn, scikit-image and the common small packages, and no network: every other package of
# uv.lock (snakemake and its plugins, captum, zarr, dask, ...) travels as a wheel, at uv.lock's version.
set -euo pipefail
cd "$(dirname "$0")/.."
# Packages the GPU image has (its torch and numpy must stay the ones built for its CUDA).
IMAGE_HAS='^(attrs|certifi|charset-normalizer|click|cloudpickle|colorama|contourpy|cuda-.*|cycler|filelock|fonttools|fsspec|idna|imageio|jinja2|joblib|kiwisolver|lazy-loader|markupsafe|matplotlib|mpmath|msgpack|narwhals|networkx|numpy|nvidia-.*|packaging|pandas|pillow|psutil|pyparsing|python-dateutil|pyyaml|requests|scikit-image|scikit-learn|scipy|setuptools|six|sortedcontainers|sympy|tabulate|threadpoolctl|tifffile|toolz|torch|torchvision|tqdm|triton|typing-extensions|urllib3|wrapt|xarray|zipp)=='
if [ "${1:-}" = fetch ]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude
  rm -rf .whl && mkdir .whl
  # uv.lock's packages as they resolve for the GPU machine (CPython 3.12 on x86_64 Linux), less its own
  uv export --frozen --no-hashes --no-dev --no-emit-project --no-header | grep -v '^ *#' |
    uv run --frozen python -c '
import sys
from packaging.markers import Marker
target = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
          "platform_python_implementation": "CPython", "os_name": "posix"}
for line in sys.stdin:
    requirement, _, marker = line.strip().partition(";")
    if requirement and (not marker.strip() or Marker(marker).evaluate(target)):
        print(requirement.strip())
' | grep -Ev "$IMAGE_HAS" >.whl/requirements.txt
  while read -r requirement; do # a wheel for Python 3.12 on x86_64, or a pure-Python sdist built into one
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform any -d .whl "$requirement" 2>/dev/null ||
      python3 -m pip wheel --quiet --no-deps -w .whl "$requirement"
  done <.whl/requirements.txt
  du -sh .whl
  exit 0
fi
if python3 -c 'import snakemake' 2>/dev/null || [ ! -d .whl ]; then
  export PYTHONPATH="$PWD/src" # an environment that has everything (uv run), or nothing carried
else
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/src" PATH="/tmp/site/bin:$PATH"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec timeout 540 python3 benchmarks/gpu_check.py "$@"
