"""Beyond the paper: does the embedding learn once the encoders see one matrix per
function? The sigmoid-based min-loss autoencoder of a scale's recipe, trained twice per seed at
the same MLP passes: with each MLP's matrix as drawn (the paper) and with its canonical matrix
(``encoder_input="canonical"``: hidden neurons sorted, :mod:`swao.method.symmetry`). Both are
scored on the book's Table 1 test MLPs (``eval_mlps`` per encoder, seed ``10,000 + seed`` of the
scale) as the book scores them (:func:`swao.training.diagnostics.table1_view`: the cells, the
best decoder's median and mean, near-constant decodings, correlation with the target, dead
decoders), beside the floors on the same MLPs. The learning curve is kept too: the training loss
and, :data:`CURVE_POINTS` times per run, the same view on the run's own validation MLPs (with the
floors on those MLPs), for the page's figure. Wall time is recorded, so a comparison at equal
time can be read from it. The result goes to ``--out`` (JSON, written after every run: a
stopped study keeps what it finished; a rerun skips the runs it has).

    python studies/symmetry_study.py --scale small --seeds 0 --out results/symmetry/sigmoid-min.json
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.book.cache import read_json, write_json

from swao.book.provenance import provenance
from swao.method.options import ENCODER_INPUTS
from swao.training import diagnostics
from swao.training.evaluation import test_seed
from swao.training.config import SCALES, get_config
from swao.book.autoencoders import train_and_score

CURVE_POINTS = 12  # validations per run (the scale's own val_every gives 3 at small scale; it does not change the training)


def run(scale: str, variant: str, seed: int, threads: int) -> dict:
    """One training and its scores."""
    config = get_config(scale, encoder_input=variant, seed=seed)
    config = replace(config, val_every=max(1, config.total_steps // CURVE_POINTS))
    base = get_config(scale)
    scored = train_and_score(config, "sigmoid", base.eval_mlps, test_seed(base.seed), device="cpu", threads=threads)
    h = scored.pop("history")
    scored.pop("model")
    keys = ("best_decoder_median", "best_decoder_mean", "near_constant_share", "median_correlation")
    curve = {"step": [v["step"] for v in h["val"]], **{k: [v[k] for v in h["val"]] for k in keys},
             "loss_step": h["step"], "loss": h["loss"],
             "floors": diagnostics.validation_floors(config, "sigmoid")}  # on the run's validation MLPs
    return {"encoder_input": variant, "seed": seed, "train_seconds": scored.pop("train_seconds"),
            "mlp_passes": config.total_steps * config.batch_size, "final_loss": h["loss"][-1],
            **scored, "curve": curve, "provenance": provenance("cpu", config)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small", choices=SCALES)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds must be comma-separated integers, got {a.seeds!r}") from None
    if a.threads < 1 or any(s < 0 for s in seeds):
        raise SystemExit(f"--threads must be >= 1 and --seeds >= 0, got {a.threads}, {a.seeds!r}")
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    base = get_config(a.scale)
    study = read_json(out) if out.exists() else {"scale": a.scale, "runs": []}
    if study["scale"] != a.scale:
        raise SystemExit(f"{out} holds a study at scale {study['scale']!r}, not {a.scale!r}: choose another --out")
    study.update(command="python studies/symmetry_study.py " + " ".join(sys.argv[1:] if argv is None else argv),
                 eval_mlps=base.eval_mlps, floors=diagnostics.floors("sigmoid", base.eval_mlps, test_seed(base.seed)))
    for seed in seeds:
        for variant in ENCODER_INPUTS:
            if any(r["encoder_input"] == variant and r["seed"] == seed for r in study["runs"]):
                continue
            r = run(a.scale, variant, seed, a.threads)
            study["runs"].append(r)
            write_json(out, study)
            print(f"{variant} seed {seed}: best-decoder median {' / '.join(f'{v:.1f}' for v in r['best_median'])} %, "
                  f"near-constant {' / '.join(f'{100 * v:.0f}' for v in r['near_constant_share'])} %, "
                  f"median corr {' / '.join(f'{v:+.2f}' for v in r['median_correlation'])} ({r['train_seconds']:.0f} s)",
                  flush=True)
    write_json(out, study)
    return 0


if __name__ == "__main__":
    sys.exit(main())
