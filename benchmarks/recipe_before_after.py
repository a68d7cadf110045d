"""Before / after the small recipe change (issue 14): the book's five autoencoders trained with the
old small recipe (batch 256, lr 1e-3 halved every epoch, hard masks, none of our options, 471
steps), scored like the book's Tables 1 and 3 (``experiments.mpe_table``: the same 200 test MLPs
per encoder, the floors and the collapse views), to set beside the current default's.

    SWAO_CACHE=/tmp/before-cache python benchmarks/recipe_before_after.py [--out before.json] [--names sigmoid-p1 ...]
"""
import argparse
import json
import os
import sys

os.environ.setdefault("SWAO_CACHE", "/tmp/before-cache")  # never the book's cache: another recipe

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)
import torch

from swao.book import experiments
from swao.training.config import get_config

OLD_SMALL = dict(train_mlps=40_000, epochs=3, batch_size=256, lr=1e-3, lr_halve_epochs=1, val_every=157, checkpoint_every=471,
                 schedule="step", mask_bias=0.0, copy_weight=0.0, width=1.0, mask_grad="none", search_start="uniform",
                 search_masks="none", search_penalty="all", search_keep_layers=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="before.json")
    ap.add_argument("--names", nargs="*", default=list(experiments.AUTOENCODERS), choices=list(experiments.AUTOENCODERS),
                    help="the autoencoders to train with the old recipe (default: all five)")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    old = get_config("small", **OLD_SMALL)
    out = {}
    for name in a.names:
        r = experiments.mpe_table(old, name, "cpu")
        out[name] = {"best_median": r["best_median"], "table_best": [min(c) for c in zip(*r["table"])],
                     "corr": r["collapse"]["median_correlation"], "dead": r["collapse"]["dead_decoders"]}
        print(name, json.dumps(out[name]), flush=True)
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
