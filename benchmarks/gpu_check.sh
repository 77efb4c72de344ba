#!/usr/bin/env bash
# The CUDA paths in one call on a lent GPU machine (<= 10 minutes): benchmarks/gpu_check.py compares
# dense and matrix-free tangent spaces, attributions and the API's fractions on CUDA with CPU.
#
#   benchmarks/gpu_check.sh fetch   # here, once: wheels of what the GPU image lacks, into .whl/
#   benchmarks/gpu_check.sh         # there (device tool, carry .whl): install them, run the check
#
# The GPU image has python3 with torch, numpy, scipy, xarray, pandas, matplotlib, scikit-learn; it has
# no network, so captum, zarr and dask travel as wheels (pinned to uv.lock's versions).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="captum==0.9.0 zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 google-crc32c dask==2026.8.0 partd locket"
if [ "${1:-}" = fetch ]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
  for w in $WHEELS; do
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "$w"
  done
  ls .whl
  exit 0
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD/src" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
timeout 540 python3 benchmarks/gpu_check.py
