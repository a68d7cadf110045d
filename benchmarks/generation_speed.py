"""How many random sparse MLP matrices per second the generator makes on one CPU core.

    python benchmarks/generation_speed.py [--n 20000] [--repeats 5]

Target (issue 2): >= 20,000 MLP matrices per second on one core.
"""
from __future__ import annotations

import argparse
import time

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)
import torch

from swao.book.provenance import git_commit, machine_name
from swao.method.generation import random_mlps

TARGET = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="MLPs per call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    random_mlps(1000, "sigmoid", seed=0)  # warm-up
    print(f"machine: {machine_name()}; torch {torch.__version__}; 1 thread; commit {git_commit()}")
    for activation in ("sigmoid", "leaky_relu"):
        rates = []
        for r in range(args.repeats):
            start = time.perf_counter()
            random_mlps(args.n, activation, seed=r)
            rates.append(args.n / (time.perf_counter() - start))
        best, median = max(rates), sorted(rates)[len(rates) // 2]
        verdict = "meets" if median >= TARGET else "MISSES"
        print(f"{activation:>10}: median {median:,.0f} MLPs/s, best {best:,.0f} MLPs/s ({args.n:,} per call) -> {verdict} the {TARGET:,}/s target")


if __name__ == "__main__":
    main()
