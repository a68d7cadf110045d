#!/usr/bin/env bash
# The GPU check and the paper-scale run, in one command with a wall-clock budget.
#
#   SWAO_COMMIT=<short hash> bash benchmarks/gpu_check.sh                  # tests, then the paper run
#   BUDGET_S=1800 PAPER_MINUTES=25 STEPS="plan paper" bash benchmarks/gpu_check.sh
#
# Parameters (environment):
#   BUDGET_S       seconds for the whole script (default 570: the CUDA tests and a 5-minute paper
#                  run fit a 10-minute slot); each step gets what is left of it, up to its own cap
#   PAPER_MINUTES  the paper run's budget after its plan (default 5)
#   STEPS          the steps, in order (default "tests paper"):
#     tests   every CUDA test: model, losses, training, generation, search, baselines, and
#             `reproduce` + `plan` at smoke sizes (at most 120 s)
#     bench   the training-throughput benchmark: fp32, TF32, bf16 (at most 170 s)
#     train   a short bf16 training run at small scale (at most 60 s)
#     plan    `swao reproduce --scale paper --device cuda --plan`: a few measured steps of each
#             stage, the estimated time of the whole run against PAPER_MINUTES (at most 120 s)
#     paper   `swao reproduce --scale paper --device cuda --fit`: plans, shrinks the training set
#             and the search steps if the plan overruns PAPER_MINUTES, runs, and exports each
#             stage as it ends
#   OUT            where it writes (default ./gpu_out), three files:
#                  device.txt (nvidia-smi, torch), log.txt (every step's output and time) and
#                  results_paper.tgz (the paper run's results/paper/*.json: unpack into results/
#                  and commit)
#   SWAO_COMMIT    the commit named in the results' provenance (a copy of the tree without .git
#                  cannot tell it)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
STEPS="${STEPS:-tests paper}"
PAPER_MINUTES="${PAPER_MINUTES:-5}"
BUDGET_S="${BUDGET_S:-${DEADLINE_S:-570}}"  # DEADLINE_S: its former name
if ! [[ $PAPER_MINUTES =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "PAPER_MINUTES must be a number of minutes, got '$PAPER_MINUTES'"; exit 2
fi
if ! [[ $BUDGET_S =~ ^[0-9]+$ ]] || [ "$BUDGET_S" -lt 1 ]; then
    echo "BUDGET_S must be a whole number of seconds >= 1, got '$BUDGET_S'"; exit 2
fi
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3  # the GPU machine: its python3 holds a CUDA torch
RUN_DIR="${RUN_DIR:-/tmp/swao_gpu_check_run}"
export PYTHONUNBUFFERED=1 SWAO_CACHE="${SWAO_CACHE:-/tmp/swao_cache}"
deadline=$(( $(date +%s) + BUDGET_S ))
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
