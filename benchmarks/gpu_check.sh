#!/usr/bin/env bash
# GPU check and paper-scale run, in one call of at most 10 minutes on one H100/H200 (a session is
# lent ~15 minutes of device time in all, the machine's start included).
#
#   SWAO_COMMIT=<short hash> STEPS="tests paper" bash benchmarks/gpu_check.sh   # the default steps
#
# Steps, in order; each gets what is left of one 570-second deadline (DEADLINE_S):
#   tests   every CUDA test: model, losses, training, generation, search, baselines, and
#           `reproduce` + `plan` at smoke sizes (at most 120 s)
#   bench   the training-throughput benchmark: fp32, TF32, bf16 (at most 170 s)
#   train   a short bf16 training run at small scale (at most 60 s)
#   plan    `swao reproduce --scale paper --device cuda --plan`: a few measured steps of each
#           stage, the estimated time of the whole run against PAPER_MINUTES (at most 120 s)
#   paper   `swao reproduce --scale paper --device cuda --fit`: plans, shrinks the training set
#           and the search steps if the plan overruns PAPER_MINUTES, runs, and exports each
#           stage as it ends; packed as $OUT/results_paper.tgz (unpack into results/ and commit)
# PAPER_MINUTES (default 5) is the budget of the paper run after its plan. Everything goes under
# $OUT in at most 5 files (the device tool returns 8). The GPU copy of the tree has no .git:
# SWAO_COMMIT names the commit in the results' provenance.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
STEPS="${STEPS:-tests paper}"
PAPER_MINUTES="${PAPER_MINUTES:-5}"
DEADLINE_S="${DEADLINE_S:-570}"
if ! [[ $PAPER_MINUTES =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "PAPER_MINUTES must be a number of minutes, got '$PAPER_MINUTES'"; exit 2
fi
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3  # the GPU machine: its python3 holds a CUDA torch
RUN_DIR="${RUN_DIR:-/tmp/swao_gpu_check_run}"
export PYTHONUNBUFFERED=1 SWAO_CACHE="${SWAO_CACHE:-/tmp/swao_cache}"
deadline=$(( $(date +%s) + DEADLINE_S ))
# seconds left before the deadline, at most $1 and at least 1 (timeout 0 would mean no limit)
left() { local l=$(( deadline - $(date +%s) )); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
status=0

{ nvidia-smi || true; "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1
head -20 "$OUT/device.txt"

for step in $STEPS; do
    start=$(date +%s)
    echo "== $step ($(left 100000) s left)" | tee -a "$OUT/log.txt"
    case "$step" in
    tests)
        timeout "$(left 120)" "$PY" -m pytest -q -rs tests -k cuda -p no:cacheprovider 2>&1 | tee -a "$OUT/log.txt" | tail -25
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1 ;;
    bench)
        timeout "$(left 170)" "$PY" benchmarks/ae_throughput.py --device cuda --steps 10 --batch-sizes 1024 4096 --no-compile \
            2>&1 | tee -a "$OUT/log.txt"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1 ;;
    train)
        rm -rf "$RUN_DIR"
        timeout "$(left 60)" "$PY" -m swao.cli train --activation sigmoid --scale small --device cuda --amp \
            --batch-size 4096 --steps 100 --out "$RUN_DIR" --no-progress 2>&1 | tee -a "$OUT/log.txt"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1 ;;
    plan)
        timeout "$(left 120)" "$PY" -m swao.cli reproduce --scale paper --device cuda --plan \
            --budget-minutes "$PAPER_MINUTES" 2>&1 | tee -a "$OUT/log.txt"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1 ;;
    paper)
        timeout "$(left 100000)" "$PY" -m swao.cli reproduce --scale paper --device cuda --fit --no-progress \
            --budget-minutes "$PAPER_MINUTES" --results-dir "$OUT/results/paper" 2>&1 | tee -a "$OUT/log.txt"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
        [ -d "$OUT/results" ] && tar czf "$OUT/results_paper.tgz" -C "$OUT" results && rm -rf "$OUT/results" ;;
    *)
        echo "unknown step $step (tests, bench, train, plan, paper)"; status=2 ;;
    esac
    echo "== $step: $(( $(date +%s) - start )) s" | tee -a "$OUT/log.txt"
done

echo "gpu_check exit status: $status"
exit $status
