"""Where a small-scale training step and a search step spend their time (issue 24), on this CPU.

A training step is the book's (swao.training.train: the batch drawn, target outputs, the
autoencoder's forward pass, eq. 3 over the grid, backward, fused Adam); a search step is
swao.method.search's on the Table 2 datasets at the scale's sizes. Each is run ``--steps``
times after a warm-up under ``torch.profiler``; the operators' self CPU time is summed into
categories (convolutions, matmuls, the MLP evaluation's elementwise
work, the optimiser, the rest), beside the wall time of the phases timed apart (drawing the
batch, forward and loss, backward, the optimiser step). The achieved FLOP rate of a training step
(FLOPs counted by ``torch.utils.flop_counter``) is set against the fp32 ``torch.mm`` peak measured
in the same run.

    python benchmarks/profile_steps.py --scale small --steps 20      # a markdown report on stdout
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from ae_throughput import machine, matmul_peak
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.method.search import search
from swao.ours.table2 import table2_datasets
from swao.training.config import SCALES, get_config
from swao.training.train import step_loss, train_batch

# operator-name fragment -> category, first match wins (self CPU time of the profiler's operators)
CATEGORIES = (
    ("convolution", "convolutions (plain and transposed)"), ("conv2d", "convolutions (plain and transposed)"),
    ("addmm", "matmuls"), ("aten::mm", "matmuls"), ("bmm", "matmuls"), ("linear", "matmuls"), ("matmul", "matmuls"),
    ("adam", "optimiser"), ("_foreach", "optimiser"),
    ("sigmoid", "elementwise"), ("leaky_relu", "elementwise"), ("mul", "elementwise"), ("add", "elementwise"),
    ("sub", "elementwise"), ("div", "elementwise"), ("where", "elementwise"), ("pow", "elementwise"),
    ("sort", "sorting and indexing"), ("gather", "sorting and indexing"), ("index", "sorting and indexing"),
    ("cat", "copies"), ("copy", "copies"), ("clone", "copies"), ("aten::to", "copies"),
)


def categorise(prof) -> dict[str, float]:
    """Seconds of self CPU time per category."""
    out: dict[str, float] = defaultdict(float)
    for e in prof.key_averages():
        name = e.key.lower()
        cat = next((c for frag, c in CATEGORIES if frag in name), "other")
        out[cat] += e.self_cpu_time_total / 1e6
    return dict(out)


def training(config, steps: int, warmup: int = 3) -> dict:
    """Phases and categories of the scale's training step."""
    model = MultiScaleAutoencoder(mask_grad=config.mask_grad, mask_bias=config.mask_bias, width=config.width)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    x = input_grid()

    def step(b: int) -> dict:
        t0 = time.perf_counter()
        train_batch(config, "sigmoid", b)  # timed apart: step_loss draws the same batch again
        t1 = time.perf_counter()
        loss, _ = step_loss(model, config, "sigmoid", b, x)
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        return {"draw the batch": t1 - t0, "forward and loss (batch drawn again)": t2 - t1, "backward": t3 - t2,
                "optimiser step": t4 - t3}

    for b in range(warmup):
        step(b)
    phases: dict[str, float] = defaultdict(float)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for b in range(warmup, warmup + steps):
            for k, v in step(b).items():
                phases[k] += v
    with FlopCounterMode(display=False) as counter:
        loss, _ = step_loss(model, config, "sigmoid", 0, x)
        loss.backward()
    seconds = sum(phases.values()) - phases["draw the batch"]
    return {"phases": dict(phases), "categories": categorise(prof), "seconds": seconds,
            "flops_per_step": counter.get_total_flops(), "steps": steps}


def searching(config, steps: int) -> dict:
    """Categories of the scale's search (one type, its Table 2 datasets, every decoder)."""
    model = MultiScaleAutoencoder(width=config.width).eval()
    data = list(table2_datasets("sigmoid", config.search_points).values())
    budget, options = config.search_budget(), config.search_options()
    search(model, data, "sigmoid", budget.replace(steps=2), options)  # warm-up
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        search(model, data, "sigmoid", budget.replace(steps=steps), options)
    return {"seconds": time.perf_counter() - t0, "categories": categorise(prof), "steps": steps}


def report(scale: str, train: dict, srch: dict, peak: float) -> str:
    per_step = train["seconds"] / train["steps"]
    rate = train["flops_per_step"] / per_step
    lines = [f"### Profile of one {scale}-scale training step and search step ({machine()}, {torch.get_num_threads()} threads)",
             "", f"- training: {per_step * 1e3:.1f} ms per step (forward, loss, backward, Adam), "
             f"{train['flops_per_step'] / 1e9:.2f} GFLOP per step: {rate / 1e9:.1f} GFLOP/s, "
             f"{rate / peak:.0%} of the fp32 matmul peak ({peak / 1e9:.1f} GFLOP/s, torch.mm, same run)",
             f"- search: {srch['seconds'] / srch['steps'] * 1e3:.1f} ms per step over {srch['steps']} steps (setup included)",
             "", "| training phase | share of the wall time |", "| --- | --- |"]
    total = sum(train["phases"].values())
    lines += [f"| {k} | {v / total:.0%} |" for k, v in sorted(train["phases"].items(), key=lambda kv: -kv[1])]
    for name, part in (("training", train), ("search", srch)):
        cats = part["categories"]
        whole = sum(cats.values())
        lines += ["", f"| {name}: operator category | share of self CPU time |", "| --- | --- |"]
        lines += [f"| {k} | {v / whole:.0%} |" for k, v in sorted(cats.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small", choices=SCALES)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--search-steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if min(a.steps, a.search_steps, a.threads) < 1:
        raise SystemExit("--steps, --search-steps and --threads must be >= 1")
    torch.set_num_threads(a.threads)
    config = get_config(a.scale)
    peak = matmul_peak(torch.device("cpu"))
    print(report(a.scale, training(config, a.steps), searching(config, a.search_steps), peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
