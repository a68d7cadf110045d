"""The search study: why does the search end with near-empty MLPs, and what stops it?

Through the book's own min-loss autoencoders of a scale (read from the cache: ``make book`` or
``swao reproduce`` trains them), each search variant runs on the Table 2 datasets of every MLP
type (the scale's points, steps and restarts), beside direct sparse training (the same
objective on the weights). Per variant and type it reports, over the 3 datasets x 4 decoders
x restarts: the restarts whose start decodes to an MLP with a dead layer and those whose result
has one, the best restart's test MPE and non-zeros per dataset (best decoder by validation
loss), and how the threshold ``t`` and the non-zero count move along the search (means over
the triples at 0, 25, 50, 75 and 100 % of the steps). Written to ``--out`` with provenance.

    python studies/search_study.py --scale small --out results/recipe/search.json
    python studies/search_study.py --table results/recipe/search.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.book import experiments
from swao.render import reports
from swao.ours.baselines import direct_sparse
from swao.book.cache import write_json
from swao.book.provenance import provenance
from swao.training.config import get_config
from swao.method.activations import ACTIVATIONS
from swao.method.search import search
from swao.method.settings import PAPER, SearchOptions
from swao.ours.table2 import best_decoder, table2_datasets

VARIANTS = {  # the search's options beyond the paper's, one at a time and together
    "paper": PAPER,
    "st": SearchOptions(masks="straight_through"),
    "encoded-st": SearchOptions("encoded", "straight_through"),
    "encoded-st-active": SearchOptions("encoded", "straight_through", "active"),
    "st-keep": SearchOptions(masks="straight_through", keep_layers=True),
    "encoded-st-active-keep": SearchOptions("encoded", "straight_through", "active", keep_layers=True),
}


def along(result, key: str) -> list[float]:
    """Mean over every triple of a trajectory at 0, 25, 50, 75 and 100 % of the logged steps."""
    tr = result.trajectory[key].float()  # (depths, D, R, K)
    K = tr.shape[-1]
    return [float(tr[..., min(K - 1, round(q * (K - 1)))].mean()) for q in (0, 0.25, 0.5, 0.75, 1)]


def cells(summary: dict) -> dict:
    """Per dataset: the decoder with the lowest validation loss, its test MPE and non-zeros."""
    out = {}
    for ds, decs in summary.items():
        dec, c = best_decoder(decs)
        out[ds] = {"decoder": dec, "mpe": c["mpe"], "nonzeros": c["nonzeros"]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--table", default=None, help="print the markdown table of a study file and exit")
    a = ap.parse_args(argv)
    if a.table:
        print(reports.search_study_table(json.loads(Path(a.table).read_text())))
        return 0
    names = a.variants.split(",")
    if any(n not in VARIANTS for n in names) or not a.out:
        raise SystemExit(f"--variants must name variants from {list(VARIANTS)}; --out is required")
    config = get_config(a.scale)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    study = {"command": "python studies/search_study.py " + " ".join(sys.argv[1:] if argv is None else argv),
             "provenance": provenance("cpu", config), "types": {}}
    for act in ACTIVATIONS:
        model, _ = experiments.autoencoder(config, experiments.MIN_LOSS[act], "cpu")
        datasets = table2_datasets(act, config.search_points, config.seed)
        data, ds_names = list(datasets.values()), list(datasets)
        entry = study["types"].setdefault(act, {})
        t0 = time.perf_counter()
        d = direct_sparse(data, act, config.search_budget(config.seed + 1))
        entry["direct"] = {"cells": cells(d.summary(ds_names)), "seconds": time.perf_counter() - t0}
        for name in names:
            t0 = time.perf_counter()
            r = search(model, data, act, config.search_budget(config.seed), VARIANTS[name], progress=f"{act} {name}")
            entry[name] = {**dataclasses.asdict(VARIANTS[name]), "seconds": time.perf_counter() - t0,
                           "triples": int(r.dead_start.numel()), "dead_start": int(r.dead_start.sum()),
                           "dead_end": int(r.dead_end.sum()), "t": along(r, "t"), "nonzeros": along(r, "nonzeros"),
                           "cells": cells(r.summary(ds_names))}
            write_json(Path(a.out), study)
    print(reports.search_study_table(study))
    return 0


if __name__ == "__main__":
    sys.exit(main())
