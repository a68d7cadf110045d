"""The authors' recipe's training step at batch 32 (the paper's network on 2 threads, as the
paper-budget run trains it), part by part: draw the batch (their generator), the targets on the
1,000-point grid, the network's forward pass (their 3 FC layers, the per-MLP BatchNorm
shortcuts), eq. 3, backward, Adam. Variants, taking turns within each repeat: ``authors`` (the
run's step), ``no-norm`` (the same step without the shortcuts' norm: what the norm costs),
``foreach-adam`` (Adam's multi-tensor path instead of the fused one).

    python benchmarks/authors_step.py --steps 40 --repeats 5
"""
from __future__ import annotations

import argparse
import statistics
import time

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from ae_throughput import machine
from swao.book.provenance import git_commit
from swao.method import losses
from swao.method.generation import input_grid
from swao.training.config import get_config, network
from swao.training.train import train_batch

PARTS = ("batch", "targets", "forward", "loss", "backward", "adam")
VARIANTS = ("authors", "no-norm", "foreach-adam")


def timed_parts(variant: str, steps: int, warmup: int) -> dict:
    """Median seconds of each part of a step over ``steps`` steps after ``warmup``."""
    config = get_config("paper", recipe="authors", **({"shortcut_norm": "none", "norm_frozen_after": 0} if variant == "no-norm" else {}))
    torch.manual_seed(0)
    model = network(config)
    fused = variant != "foreach-adam"
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=fused, foreach=None if fused else True)
    x = input_grid()
    times = {p: [] for p in PARTS}
    for s in range(warmup + steps):
        t = [time.perf_counter()]
        padded, depth, counts = train_batch(config, "sigmoid", s)
        t.append(time.perf_counter())
        y = losses.target_outputs(padded, depth, x, "sigmoid", counts)
        t.append(time.perf_counter())
        decoded = model(padded, depth, counts)
        t.append(time.perf_counter())
        loss, _ = losses.autoencoder_loss(decoded, y, x, "sigmoid", "min")
        t.append(time.perf_counter())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t.append(time.perf_counter())
        opt.step()
        t.append(time.perf_counter())
        if s >= warmup:
            for p, a, b in zip(PARTS, t[:-1], t[1:]):
                times[p].append(b - a)
    return {p: statistics.median(v) for p, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if min(a.steps, a.repeats, a.threads) < 1 or a.warmup < 0:
        raise SystemExit("--steps, --repeats and --threads must be >= 1, --warmup >= 0")
    torch.set_num_threads(a.threads)
    runs = {v: [] for v in VARIANTS}
    for _ in range(a.repeats):
        for v in VARIANTS:
            runs[v].append(timed_parts(v, a.steps, a.warmup))
    print(f"{machine()}, {a.threads} threads, torch {torch.__version__}, commit {git_commit()}; "
          f"medians over {a.steps} steps, then the median (best) of {a.repeats} repeats, ms")
    print("| variant | " + " | ".join(PARTS) + " | step | MLPs/s |")
    print("| --- |" + " ---: |" * (len(PARTS) + 2))
    for v, reps in runs.items():
        med = {p: statistics.median(r[p] for r in reps) for p in PARTS}
        best = {p: min(r[p] for r in reps) for p in PARTS}
        step = sum(med.values())
        print(f"| {v} | " + " | ".join(f"{1000 * med[p]:.1f} ({1000 * best[p]:.1f})" for p in PARTS)
              + f" | {1000 * step:.1f} | {32 / step:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
