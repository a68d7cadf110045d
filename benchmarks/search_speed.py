"""Seconds per step of the batched embedding search (issue 4): 36 (dataset, decoder) pairs on
50,000 training points each, with a freshly initialised MultiScaleAutoencoder (the decoder's
cost counts; trained weights cost the same).

    .venv/bin/python benchmarks/search_speed.py [--steps 40] [--repeats 3] [--threads 2]

Every step is timed on its own (forward pass to forward pass) and the median is taken, which
shrugs off the other jobs of a shared machine; the validation pass (every ``steps/200`` = 150
steps at paper scale) is timed separately and added, amortised. Two layouts of the 36 pairs:

* ``one search``: the 9 datasets under one MLP type x 4 decoders in ONE batched search;
* ``3 searches``: what ``run_table2`` does -- one search per MLP type (3 datasets x 4
  decoders), one after the other; their per-step costs add up.
"""
from __future__ import annotations

import argparse
import statistics
import time

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)
import torch

from swao.training.config import get_config
from swao.method.activations import ACTIVATIONS
from swao.method.model import MultiScaleAutoencoder
from swao.method.fused_mse import mlp_mse
from swao.method.optimise import TripleData
from swao.method.search import search
from swao.method.settings import SearchBudget
from swao.ours.table2 import table2_datasets


def step_seconds(model, data, activation, steps) -> float:
    """Median seconds of one optimisation step (validation excluded)."""
    stamps: list[float] = []
    search(model, data, activation, SearchBudget(steps, eval_every=10**9),
           progress=lambda step, loss: stamps.append(time.perf_counter()))
    gaps = [b - a for a, b in zip(stamps[1:-1], stamps[2:])]  # skip step 0 and the final evaluation
    return statistics.median(gaps)


def validation_seconds(model, data, activation) -> float:
    td = TripleData.build(data, 1, "cpu")
    with torch.no_grad():
        ms = [model.decode_depth(torch.rand(len(data), 128), j) for j in (1, 2, 3, 4)]
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            for m in ms:
                mlp_mse(m, td.xt["valid"], td.y["valid"], activation)
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100_000, help="per dataset before the 5:3:2 split (50,000 train)")
    p.add_argument("--steps", type=int, default=40, help="timed steps per search")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MultiScaleAutoencoder()
    paper = get_config("paper")
    val_every = paper.search_steps // 200
    sets = {a: list(table2_datasets(a, args.points, seed=0).values()) for a in ACTIVATIONS}
    nine = [d for a in ACTIVATIONS for d in sets[a]]
    print(f"threads {torch.get_num_threads()}, {nine[0]['x_train'].shape[0]:,} training points per dataset, "
          f"median of {args.steps} steps, validation every {val_every} steps (paper scale) added", flush=True)
    results: dict[str, list[float]] = {"one search": [], "3 searches": []}
    for rep in range(args.repeats):
        s = step_seconds(model, nine, "sigmoid", args.steps) + validation_seconds(model, nine, "sigmoid") / val_every
        results["one search"].append(s)
        results["3 searches"].append(sum(step_seconds(model, sets[a], a, args.steps)
                                         + validation_seconds(model, sets[a], a) / val_every for a in ACTIVATIONS))
        print(f"repeat {rep}: " + ", ".join(f"{k} {1e3 * v[-1]:.1f} ms/step" for k, v in results.items()), flush=True)
    for k, v in results.items():
        med = statistics.median(v)
        print(f"{k}: 36 pairs, median {1e3 * med:.1f} ms/step (best {1e3 * min(v):.1f}); "
              f"{paper.search_steps:,} steps -> {med * paper.search_steps / 60:.1f} min (best {min(v) * paper.search_steps / 60:.1f})")


if __name__ == "__main__":
    main()
