"""The compute stage in turn against at once (issue 24), on this CPU, in one run.

*In turn* is how the compute stage ran before: one process on every core, the autoencoders
trained one after the other, then the three MLP types' searches (with their baselines) and the
your-data page's search one after the other (each search on its per-depth worker threads).
*At once* is how it runs now (:mod:`swao.book.parallel`): one process per core, one thread each,
the autoencoders trained side by side (:func:`swao.book.reproduce.train_at_once`), then the four
searches side by side (:func:`swao.book.reproduce.search_at_once`). Both at the small scale's
recipe, shortened so that the run takes minutes (``--train-steps`` per autoencoder,
``--search-steps``); every number is read from the clock of this run, with the matmul peak.

    python benchmarks/at_once.py                      # a markdown report on stdout
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch
from torch.utils.flop_counter import FlopCounterMode

from ae_throughput import machine, matmul_peak
from swao.book import experiments as ex
from swao.book.provenance import git_commit
from swao.book.reproduce import search_at_once, train_at_once
from swao.book.your_data import search_your_data
from swao.method.activations import ACTIVATIONS
from swao.ours.table2 import run_table2
from swao.training.config import get_config
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.training.spec import autoencoder_spec
from swao.training.train import step_loss, train_autoencoder

STAGES = ("autoencoders", "search", "your_data")  # the book's autoencoders, the searches that read them


def in_turn(config, cache: Path) -> dict:
    """The compute stage as before: one process, every core, one part after another."""
    torch.set_num_threads(os.cpu_count() or 1)
    seconds = {}
    t0 = time.perf_counter()
    models = {}
    for name, mask_grad in ex.autoencoders_for(STAGES, config):
        act, loss, p = ex.AUTOENCODERS[name]
        out = train_autoencoder(config, autoencoder_spec(config, act, loss, p, mask_grad), cache / name, device="cpu", progress=False)
        models[name] = out["model"].eval()
    seconds["training"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_table2({a: models[ex.MIN_LOSS[a]] for a in ACTIVATIONS}, config, "cpu", seed=config.seed, progress=False)
    search_your_data({"sigmoid": models["sigmoid-min"]}, config, progress=False)
    seconds["searches"] = time.perf_counter() - t0
    return seconds


def at_once(config, cache: Path) -> dict:
    """The compute stage as now: a process per core, one thread each, parts side by side."""
    seconds = {}
    with mock.patch.dict(os.environ, {"SWAO_CACHE": str(cache)}):
        t0 = time.perf_counter()
        trained = train_at_once(config, "cpu", STAGES, progress=False)
        seconds["training"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        searched = search_at_once(config, "cpu", STAGES, progress=False)
        seconds["searches"] = time.perf_counter() - t0
    if trained < 2 or searched < 2:
        raise SystemExit("at once needs at least 2 cores: nothing ran side by side here")
    return seconds


def flops_per_mlp(config) -> float:
    """FLOPs of one training step per MLP (forward, loss and backward; torch.utils.flop_counter)."""
    model = MultiScaleAutoencoder(mask_grad=config.mask_grad, mask_bias=config.mask_bias, width=config.width)
    with FlopCounterMode(display=False) as counter:
        loss, _ = step_loss(model, config, "sigmoid", 0, input_grid(), copy=config.copy_weight)
        loss.backward()
    return counter.get_total_flops() / config.batch_size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-steps", type=int, default=80, help="steps per autoencoder (the small recipe has 1,599)")
    ap.add_argument("--search-steps", type=int, default=200, help="search and baseline steps (the small scale has 2,000)")
    a = ap.parse_args(argv)
    if min(a.train_steps, a.search_steps) < 1:
        raise SystemExit("--train-steps and --search-steps must be >= 1")
    small = get_config("small")
    config = small.replace(train_mlps=a.train_steps * small.batch_size, epochs=1, val_every=10**9,
                           checkpoint_every=10**9, search_steps=a.search_steps)
    torch.set_num_threads(os.cpu_count() or 1)
    peak = matmul_peak(torch.device("cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        before = in_turn(config, Path(tmp) / "in-turn")
        after = at_once(config, Path(tmp) / "at-once")
    n = len(ex.autoencoders_for(STAGES, config))
    flops = flops_per_mlp(config)
    lines = [f"### In turn against at once ({machine()}, commit {git_commit()}, "
             f"{time.strftime('%Y-%m-%d')})", "",
             f"Small recipe shortened: {n} autoencoders x {a.train_steps} steps (batch {small.batch_size}), searches of "
             f"{a.search_steps} steps (Table 2's 3 MLP types with their baselines, and the your-data page's). "
             f"fp32 matmul peak {peak / 1e9:.0f} GFLOP/s (torch.mm, same run).", "",
             "| part | in turn (s) | at once (s) | ratio |", "| --- | --- | --- | --- |"]
    for k in before:
        lines.append(f"| {k} | {before[k]:.1f} | {after[k]:.1f} | {after[k] / before[k]:.2f} |")
    total_b, total_a = sum(before.values()), sum(after.values())
    lines.append(f"| total | {total_b:.1f} | {total_a:.1f} | {total_a / total_b:.2f} |")
    rates = {k: n * a.train_steps * small.batch_size / v["training"] for k, v in (("in turn", before), ("at once", after))}
    lines += ["", "Training (" + f"{flops / 1e6:.1f} MFLOP per MLP, forward and backward): " + "; ".join(
        f"{k} {r:.0f} MLPs/s, {r * flops / 1e9:.1f} GFLOP/s, {r * flops / peak:.0%} of the peak" for k, r in rates.items())
        + " (validation and checkpoints included)."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
