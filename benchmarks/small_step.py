"""The small scale's training step as the book runs it (one thread per process), per batch size and
variant, against the one-thread fp32 matmul peak of the same run (issue 24). Variants: ``eager``
(the book's), ``compiled`` (``torch.compile``), ``no-onednn`` (the convolutions without oneDNN,
``torch.backends.mkldnn`` off: im2col and a matmul), ``channels-last-weights`` (the conv weights
stored ``channels_last`` as their inputs are; the book keeps them contiguous).

Each variant is a whole training step of the small recipe (draw the batch, targets, encode and
decode, eq. 3 over the grid with the copy term, backward, fused Adam), timed over ``--steps``
steps after ``--warmup``; the best and the median of ``--repeats`` runs, the variants taking turns
within each repeat. A compiled variant's first steps
(the compilation) are timed apart: a book pays them once per autoencoder and worker process.
FLOPs per MLP from ``torch.utils.flop_counter`` (forward, loss and backward).

    python benchmarks/small_step.py                     # batch 64, 128, 256; eager and compiled
    python benchmarks/small_step.py --variants eager channels-last-weights no-onednn --batch-sizes 64 256
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from ae_throughput import machine, matmul_peak
from at_once import flops_per_mlp
from swao.book.provenance import git_commit
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.training.config import get_config
from swao.training.train import step_loss


VARIANTS = ("eager", "compiled", "no-onednn", "channels-last-weights")


def timed_steps(config, steps: int, warmup: int, variant: str) -> tuple[float, float]:
    """(MLPs/s over ``steps`` steps after ``warmup``, seconds of the warm-up steps) of one variant."""
    with torch.backends.mkldnn.flags(enabled=False) if variant == "no-onednn" else contextlib.nullcontext():
        return _timed_steps(config, steps, warmup, variant)


def _timed_steps(config, steps: int, warmup: int, variant: str) -> tuple[float, float]:
    torch.manual_seed(config.seed)
    model = MultiScaleAutoencoder(mask_grad=config.mask_grad, mask_bias=config.mask_bias, width=config.width)
    if variant == "channels-last-weights":
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if variant == "compiled" else model
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    x = input_grid()

    def step(b: int) -> None:
        loss, _ = step_loss(net, config, "sigmoid", b, x, copy=config.copy_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for b in range(warmup):
        step(b)
    t1 = time.perf_counter()
    for b in range(warmup, warmup + steps):
        step(b)
    return steps * config.batch_size / (time.perf_counter() - t1), t1 - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per variant")
    ap.add_argument("--warmup", type=int, default=3, help="steps before the clock starts (a compiled variant's compilation)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="the book's training threads per process (TRAIN_THREADS)")
    ap.add_argument("--variants", nargs="+", default=["eager", "compiled"], help=f"from {list(VARIANTS)}")
    ap.add_argument("--no-compile", action="store_true", help="leave out the compiled variant")
    a = ap.parse_args(argv)
    if min(a.batch_sizes) < 4 or a.steps < 1 or a.warmup < 1 or a.repeats < 1 or a.threads < 1:
        raise SystemExit("--batch-sizes must be >= 4 (one MLP per depth); --steps, --warmup, --repeats and --threads >= 1")
    if set(a.variants) - set(VARIANTS):
        raise SystemExit(f"--variants must be from {list(VARIANTS)}, got {a.variants}")
    variants = [v for v in a.variants if not (a.no_compile and v == "compiled")]
    torch.set_num_threads(a.threads)
    peak = matmul_peak(torch.device("cpu"))
    print(f"Machine: {machine()}; torch {torch.__version__}; commit {git_commit()}; {a.threads} thread(s); "
          f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s\n")
    print("| batch | variant | MLPs/s (best) | MLPs/s (median) | GFLOP/s (best) | of the peak | warm-up (s) |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for bs in a.batch_sizes:
        config = get_config("small", batch_size=bs)
        flops = flops_per_mlp(config)
        runs = {v: [] for v in variants}
        for _ in range(a.repeats):  # the variants in turn within each repeat: a slow spell of the host hits them all
            for variant in variants:
                runs[variant].append(timed_steps(config, a.steps, a.warmup, variant))
        for variant, done in runs.items():
            rate, warm = max(done)
            middle = statistics.median(r for r, _ in done)
            print(f"| {bs} | {variant} | {rate:,.0f} | {middle:,.0f} | {rate * flops / 1e9:.1f} | "
                  f"{rate * flops / peak:.0%} | {warm:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
