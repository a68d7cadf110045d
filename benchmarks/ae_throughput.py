"""Autoencoder training throughput (issue 3): MLPs/s per batch size, against the machine's fp32
matmul peak measured in the same run.

    python benchmarks/ae_throughput.py                      # CPU (2 threads), several batch sizes
    python benchmarks/ae_throughput.py --device cuda        # fp32 / TF32 / bf16 (+ torch.compile)
    python benchmarks/ae_throughput.py --device cuda --no-compile --batch-sizes 1024 4096
    python benchmarks/ae_throughput.py --write              # also update benchmarks/RESULTS.md

A timed step is a whole training step of swao.training.train (generate the batch on the device, target
outputs, encode/decode, eq. 3 loss over the 1,000-point grid, backward, fused Adam). FLOPs per
MLP are counted with torch.utils.flop_counter.FlopCounterMode on one step (forward + backward,
model and loss); fraction of peak = MLPs/s x FLOPs/MLP / peak, against the ``torch.mm`` peak of
the variant's precision. On CUDA the variants are: ``fp32`` (strict IEEE float32 matmuls and
convolutions), ``tf32`` (TF32 matmuls and convolutions: what ``swao train`` uses on CUDA by
default), ``bf16`` (autocast, as ``--amp``), and both last with ``torch.compile``; the clock is
read after ``torch.cuda.synchronize()``. The CUDA run also counts the host-device syncs of one
training step (``torch.cuda.set_sync_debug_mode``; 0 expected).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch
from torch.utils.flop_counter import FlopCounterMode

from swao.training.config import cuda_tf32, get_config, resolve_device
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder, n_parameters
from swao.training.train import step_loss

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Autoencoder training throughput (issue 3)"
BEGIN, END = "<!-- ae_throughput:begin -->", "<!-- ae_throughput:end -->"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# precision name -> (matmul dtype, TF32) of its torch.mm peak
PRECISIONS = {"fp32": (torch.float32, False), "tf32": (torch.float32, True), "bf16": (torch.bfloat16, False)}


def matmul_peak(device: torch.device, sizes=(2048, 4096), seconds: float = 1.0, precision: str = "fp32") -> float:
    """Best ``torch.mm`` FLOP/s over a few large square sizes, in ``precision`` (CUDA: fp32 is
    strict IEEE, tf32 TF32 tensor cores, bf16 bf16 inputs)."""
    dtype, tf32 = PRECISIONS[precision]
    best = 0.0
    with cuda_tf32(device, tf32):
        for n in sizes:
            a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
            torch.mm(a, b)
            sync(device)
            t_end = time.perf_counter() + seconds
            while time.perf_counter() < t_end:
                t = time.perf_counter()
                torch.mm(a, b)
                sync(device)
                best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def make(device, batch_size, amp=False, compile=False, tf32=False, activation="sigmoid"):
    """A training step as ``swao.training.train`` runs it (``tf32``: inside ``cuda_tf32``, CUDA only)."""
    torch.manual_seed(0)
    model = MultiScaleAutoencoder().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    net = torch.compile(model) if compile else model
    config = get_config("paper", batch_size=batch_size)
    x = input_grid().to(device)

    def step(b: int) -> torch.Tensor:
        with cuda_tf32(device, tf32):
            loss, _ = step_loss(net, config, activation, b, x, amp=amp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss

    return model, step


def host_syncs_per_step(device, batch_size=1024, **kw) -> int:
    """Host-device syncs of one training step after warm-up (``torch.cuda.set_sync_debug_mode``)."""
    _, step = make(device, batch_size, **kw)
    for b in range(2):
        step(b)
    sync(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step(2)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    sync(device)
    return sum("synchroniz" in str(w.message) for w in caught)


def flops_per_mlp(device, batch_size=256) -> tuple[float, float]:
    """(training FLOPs per MLP: forward + backward of network and loss, the loss's share)."""
    from swao.method import losses
    from swao.training.train import train_batch

    model, _ = make(device, batch_size)
    config = get_config("paper", batch_size=batch_size)
    x = input_grid().to(device)
    with FlopCounterMode(display=False) as whole:
        loss, _ = step_loss(model, config, "sigmoid", 0, x)
        loss.backward()
    padded, depth, counts = train_batch(config, "sigmoid", 0, device=device)
    decoded = [d.detach().requires_grad_() for d in model(padded, depth, counts)]
    with FlopCounterMode(display=False) as part:
        y = losses.target_outputs(padded, depth, x, "sigmoid", counts)
        losses.autoencoder_loss(decoded, y, x, "sigmoid")[0].backward()
    return whole.get_total_flops() / batch_size, part.get_total_flops() / batch_size


def throughput(device, batch_size, steps, warmup, **kw) -> float:
    _, step = make(device, batch_size, **kw)
    for b in range(warmup):
        step(b)
    sync(device)
    t = time.perf_counter()
    for b in range(warmup, warmup + steps):
        step(b)
    sync(device)
    return batch_size * steps / (time.perf_counter() - t)


def machine() -> str:
    name = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = re.search(r"Model name:\s*(.+)", out).group(1).strip()
    except Exception:
        pass
    return f"{name}, {os.cpu_count()} cores"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    ap.add_argument("--steps", type=int, default=None, help="timed steps per setting")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per setting; the best is reported")
    ap.add_argument("--no-compile", action="store_true", help="CUDA: skip the torch.compile variants (slow to compile)")
    ap.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    cuda = device.type == "cuda"
    sizes = args.batch_sizes or ([1024, 4096, 8192] if cuda else [64, 128, 256, 512, 1024])
    steps = args.steps or (20 if cuda else 6)
    # (name, make() options, precision of the matmul peak it is compared with)
    variants = [("fp32", {}, "fp32")]
    if cuda:
        variants = [("fp32 (no TF32)", {"tf32": False}, "fp32"), ("tf32", {"tf32": True}, "tf32"),
                    ("bf16", {"amp": True, "tf32": True}, "bf16"),
                    ("tf32+compile", {"tf32": True, "compile": True}, "tf32"),
                    ("bf16+compile", {"amp": True, "tf32": True, "compile": True}, "bf16")]
        if args.no_compile:
            variants = [v for v in variants if not v[1].get("compile")]

    peaks = {prec: matmul_peak(device, precision=prec) for prec in ({v[2] for v in variants} if cuda else ["fp32"])}
    fl, fl_loss = flops_per_mlp(device)
    params = n_parameters(MultiScaleAutoencoder())
    dev_name = f"{torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}" if cuda else machine()
    if cuda:
        peak_line = "- matmul peaks (torch.mm, 2048/4096): " + ", ".join(
            f"{prec} {peaks[prec] / 1e12:.1f} TFLOP/s" for prec in PRECISIONS if prec in peaks)
    else:
        peak_line = f"- fp32 matmul peak (torch.mm, 2048/4096): {peaks['fp32'] / 1e9:.1f} GFLOP/s"
    lines = [
        f"- machine: {dev_name}" + (f"; torch threads {args.threads}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}" if not cuda else ""),
        f"- date: {datetime.date.today()}, commit `{_git_head()}`, torch {torch.__version__}",
        f"- model: {params / 1e6:.2f} M parameters; training FLOPs per MLP (fwd+bwd, FlopCounterMode): "
        f"{fl / 1e6:.1f} M ({(fl - fl_loss) / 1e6:.1f} M network, {fl_loss / 1e6:.1f} M MLP evaluation in the loss)",
        peak_line,
    ]
    if cuda:
        lines.append(f"- host-device syncs in one training step (batch {sizes[0]}, tf32): "
                     f"{host_syncs_per_step(device, sizes[0], tf32=True)}")
    lines += [
        "",
        "| variant | batch | MLPs/s (median of repeats) | best | GFLOP/s (median) | fraction of matmul peak (median / best) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for name, kw, prec in variants:
        peak = peaks[prec]
        for bs in sizes if not kw.get("compile") else sizes[-1:]:  # compiling takes a while: largest only
            try:
                rates = sorted(throughput(device, bs, steps, args.warmup, **kw) for _ in range(args.repeats))
            except (torch.OutOfMemoryError, RuntimeError) as err:
                print(f"| {name} | {bs} | failed: {str(err).splitlines()[0][:60]} | | | |", flush=True)
                if cuda:
                    torch.cuda.empty_cache()
                continue
            med, best = rates[len(rates) // 2], rates[-1]
            row = (f"| {name} | {bs} | {med:,.0f} | {best:,.0f} | {med * fl / 1e9:,.1f} | "
                   f"{med * fl / peak:.0%} / {best * fl / peak:.0%} |")
            lines.append(row)
            print(row, flush=True)
    peak_end = matmul_peak(device)
    which = "the first peaks, each variant's precision" if cuda else "the first"
    lines.append(f"\nfp32 matmul peak re-measured after the runs: {peak_end / 1e9:.1f} GFLOP/s (fractions use {which}).")
    print(lines[-1])
    if args.write:
        write_results("\n".join(lines), device)
    return 0


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def write_results(block: str, device: torch.device) -> None:
    """Replace this benchmark's block (per device type) inside the issue-3 section of RESULTS.md."""
    begin, end = BEGIN.replace(":begin", f":{device.type}:begin"), END.replace(":end", f":{device.type}:end")
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n"
    body = f"{begin}\n### {device.type.upper()} (benchmarks/ae_throughput.py)\n\n{block}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S)
    else:  # insert at the end of the issue-3 section
        start = text.index(HEADING) + len(HEADING)
        nxt = text.find("\n## ", start)
        cut = len(text) if nxt < 0 else nxt
        text = text[:cut].rstrip("\n") + "\n\n" + body + "\n" + text[cut:]
    RESULTS.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
