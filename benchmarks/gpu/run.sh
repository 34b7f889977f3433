#!/usr/bin/env bash
# The GPU suite: one prepared run for the day a GPU is lent, within 8 minutes in all.
#
#   benchmarks/gpu/run.sh --download   here (with network): fetch benchmarks/gpu/wheels.txt into .whl/
#   benchmarks/gpu/run.sh              on the device: install .whl/*.whl, run everything, JSON to $OUT
#   benchmarks/gpu/run.sh --cpu-smoke  anywhere: the same steps at smoke sizes on the CPU (CI runs it)
#
# Items: the SDXL-shaped grid and draft grid, bare diffusers vs our engine (bf16, SDPA,
# channels-last) with and without torch.compile (gpu_grid.py); Real-ESRGAN on 1024^2
# (compact and x2plus, upscale.py); batching 1 vs 4 jobs and two workers on one GPU vs one
# (workers.py); FLUX.1 [dev]- and Z-Image-shaped transformers at their real sizes, diffusers
# vs ours, + regional compile, + step cache, + fp8 (gpu_transformers.py, whose rows stop at
# its --budget); HD (--hd, Rerun as HD) vs a plain grid on the tiny model (postedit.py
# --hd-only). Each item has its own time limit, so one slow item cannot eat the others'.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/benchmarks/results/gpu}
PYTHON=${PYTHON:-python3}
MODE=${1:-gpu}

if [[ $MODE == --download ]]; then
    grep -v '^#' benchmarks/gpu/wheels.txt | xargs "$PYTHON" -m pip download --no-deps \
        --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl
    exit
fi

mkdir -p "$OUT"
SMOKE=()
if [[ $MODE == --cpu-smoke ]]; then
    SMOKE=(--smoke)
elif [[ -d .whl ]]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/imagine-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/imagine-site
fi
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export IMAGINE_PATHS__DATA_DIR=${IMAGINE_PATHS__DATA_DIR:-/tmp/imagine-gpu-data}
DEVICE=cuda:0
COMPILE=(--compile)
if [[ $MODE == --cpu-smoke ]]; then
    DEVICE=cpu
    COMPILE=()  # inductor's C++ build on a CPU takes minutes; the GPU run compiles
fi

failed=0
item() {  # item NAME SECONDS SCRIPT ARGS...: one benchmark, its JSON and log under $OUT
    local name=$1 limit=$2 script=$3
    shift 3
    echo "== $name (at most $limit s)"
    if ! timeout "$limit" "$PYTHON" "benchmarks/$script.py" "${SMOKE[@]}" \
        --out "$OUT/$name.json" "$@" >"$OUT/$name.log" 2>&1; then
        echo "$name FAILED (see $name.log)"
        tail -n 20 "$OUT/$name.log"
        failed=1
    else
        grep -v '^wrote ' "$OUT/$name.log" | tail -n 12
    fi
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/gpu.txt" 2>&1 || true
# One timed run per row (no repeats) so that every row fits in 8 minutes: 140 + 60 + 30 + 80
# + 160 s.
item gpu_grid 140 gpu_grid --repeats 1 "${COMPILE[@]}"
item upscale 60 upscale --sizes 1024 --models general_x4v3 x2plus
item postedit 30 postedit --hd-only --repeats 1
item workers 80 workers --device "$DEVICE" --size 512 --steps 20 --grids 8 --repeats 1
item gpu_transformers 160 gpu_transformers --budget 120
exit $failed
