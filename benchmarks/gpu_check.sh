#!/usr/bin/env bash
# GPU check for issue 3 (autoencoder): <= 5 minutes on one H100/H200.
#   1. the CUDA tests of the model / losses / training (they skip without CUDA elsewhere),
#   2. the training-throughput benchmark (fp32, bf16, torch.compile),
#   3. a short bf16 training run at small scale.
# Figures go under $OUT (default ./gpu_out), at most 8 small files.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
RUN_DIR="${RUN_DIR:-/tmp/swao_gpu_check_run}"
status=0

{ nvidia-smi || true; "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1

echo "== 1. CUDA tests" | tee "$OUT/tests.txt"
timeout 60 "$PY" -m pytest -q -rs tests/test_model.py tests/test_losses.py tests/test_train.py -k cuda \
    >> "$OUT/tests.txt" 2>&1 || status=1
tail -3 "$OUT/tests.txt"

echo "== 2. throughput benchmark"
timeout 170 "$PY" benchmarks/ae_throughput.py --device cuda --steps 10 --batch-sizes 1024 4096 8192 \
    > "$OUT/ae_throughput.md" 2>&1 || status=1
cat "$OUT/ae_throughput.md"

echo "== 3. short bf16 training run (small scale, 100 steps of 4096 MLPs)"
rm -rf "$RUN_DIR"
timeout 60 "$PY" -m swao.cli train --activation sigmoid --scale small --device cuda --amp \
    --batch-size 4096 --steps 100 --out "$RUN_DIR" --no-progress > "$OUT/train.txt" 2>&1 || status=1
cat "$OUT/train.txt"
cp "$RUN_DIR/history.json" "$OUT/history.json" 2>/dev/null || true

echo "gpu_check exit status: $status"
exit $status
