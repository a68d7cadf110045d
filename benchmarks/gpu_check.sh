#!/usr/bin/env bash
# GPU check and paper-scale run, in one call on one H100/H200 (a session is lent ~15 minutes of
# device time in all, machine start included, and one call may run 10 minutes).
#
#   STEPS="tests paper" bash benchmarks/gpu_check.sh      # the default
#
# Steps (run in this order, each with its own timeout; figures and results go under $OUT):
#   tests   every CUDA test: model, losses, training, generation, search, baselines (<= 150 s)
#   bench   the training-throughput benchmark: fp32, TF32, bf16 (<= 170 s)
#   train   a short bf16 training run at small scale (<= 60 s)
#   plan    `swao reproduce --scale paper --device cuda --plan`: a few measured steps of each
#           stage, the estimated time of the whole run against PAPER_MINUTES (<= 120 s)
#   paper   `swao reproduce --scale paper --device cuda --fit`: plans, shrinks the training set
#           and the search steps if the plan overruns PAPER_MINUTES, runs, and exports each
#           stage as it ends to $OUT/results/paper/ (commit that folder to results/paper/)
# PAPER_MINUTES (default 6) is the budget of the run after its plan; the step's timeout adds 3.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
STEPS="${STEPS:-tests paper}"
PAPER_MINUTES="${PAPER_MINUTES:-6}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3  # the GPU machine: its python3 holds a CUDA torch
RUN_DIR="${RUN_DIR:-/tmp/swao_gpu_check_run}"
export PYTHONUNBUFFERED=1 SWAO_CACHE="${SWAO_CACHE:-/tmp/swao_cache}"
status=0

{ nvidia-smi || true; "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1
head -20 "$OUT/device.txt"

for step in $STEPS; do
    start=$(date +%s)
    echo "== $step"
    case "$step" in
    tests)
        timeout 150 "$PY" -m pytest -q -rs tests -k cuda -p no:cacheprovider > "$OUT/tests.txt" 2>&1 || status=1
        tail -15 "$OUT/tests.txt" ;;
    bench)
        timeout 170 "$PY" benchmarks/ae_throughput.py --device cuda --steps 10 --batch-sizes 1024 4096 --no-compile \
            > "$OUT/ae_throughput.md" 2>&1 || status=1
        cat "$OUT/ae_throughput.md" ;;
    train)
        rm -rf "$RUN_DIR"
        timeout 60 "$PY" -m swao.cli train --activation sigmoid --scale small --device cuda --amp \
            --batch-size 4096 --steps 100 --out "$RUN_DIR" --no-progress > "$OUT/train.txt" 2>&1 || status=1
        cat "$OUT/train.txt"
        cp "$RUN_DIR/history.json" "$OUT/history.json" 2>/dev/null || true ;;
    plan)
        timeout 120 "$PY" -m swao.cli reproduce --scale paper --device cuda --plan --budget-minutes "$PAPER_MINUTES" \
            > "$OUT/plan.txt" 2>&1 || status=1
        cat "$OUT/plan.txt" ;;
    paper)
        timeout $(( (${PAPER_MINUTES%.*} + 3) * 60 )) "$PY" -m swao.cli reproduce --scale paper --device cuda --fit \
            --budget-minutes "$PAPER_MINUTES" --results-dir "$OUT/results/paper" > "$OUT/paper.txt" 2>&1 || status=1
        tr '\r' '\n' < "$OUT/paper.txt" | grep -v "it/s\]$" | tail -60 ;;
    *)
        echo "unknown step $step (tests, bench, train, plan, paper)"; status=2 ;;
    esac
    echo "== $step: $(( $(date +%s) - start )) s"
done

echo "gpu_check exit status: $status"
exit $status
