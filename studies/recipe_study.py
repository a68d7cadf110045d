"""The autoencoder recipe study: which training recipe learns most in the CPU budget?

Each recipe trains the sigmoid-based min-loss autoencoder (the ``small`` config otherwise) for
the same wall-clock budget of training steps: the steps of each recipe are set from its own
MLPs/s, measured in this run (a short calibration per batch size and precision), so a smaller
batch gets more steps. Every recipe is then scored on the same held-out MLPs as the book's
Table 1 (``eval_mlps`` per encoder, seed 10,000): the table's cell means, the per-MLP best
decoder's median and mean per encoder, and :mod:`swao.training.diagnostics` (near-constant decodings,
median correlation with the target, active neurons, dead decoders), beside the two floors
(the oracle constant and a linear fit). The result goes to ``--out`` (JSON, written after
every recipe: a stopped study keeps what it finished), with its provenance.

    python studies/recipe_study.py --budget-s 150 --out results/recipe/study.json
    python studies/recipe_study.py --table results/recipe/study.json   # the markdown table
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.training import diagnostics
from swao.render import reports
from swao.book.cache import write_json
from swao.book.provenance import provenance
from swao.training.config import get_config
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.training.train import step_loss
from swao.training.evaluation import test_seed
from swao.book.autoencoders import train_and_score

# name -> (config overrides, mask_grad, bf16 autocast). lr scaled as sqrt(batch / 256) x 1e-3.
RECIPES = {
    "today": (dict(batch_size=256, lr=1e-3, schedule="step"), "none", False),
    "authors": (dict(batch_size=32, lr=1e-4, schedule="step", lr_halve_epochs=2), "none", False),
    "b64-linear-st": (dict(batch_size=64, lr=5e-4, schedule="linear"), "straight_through", False),
    "b64-linear-st-on": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0), "straight_through", False),
    "b64-copy": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0), "straight_through", False),
    "b32-copy": (dict(batch_size=32, lr=3.5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0), "straight_through", False),
    "b128-copy": (dict(batch_size=128, lr=7e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0), "straight_through", False),
    "b64-copy-bf16": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0), "straight_through", True),
    "b64-copy-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0, width=0.5), "straight_through", False),
    # the small recipe (b64-copy-w0.5) at larger batches, lr by the same square-root rule
    "b128-copy-w0.5": (dict(batch_size=128, lr=7e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0, width=0.5), "straight_through", False),
    "b256-copy-w0.5": (dict(batch_size=256, lr=1e-3, schedule="linear", mask_bias=2.0, copy_weight=1.0, width=0.5), "straight_through", False),
    "b64-linear-st-on-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, width=0.5), "straight_through", False),
    "b64-copy-full-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0, copy_until=1.0, width=0.5),
                           "straight_through", False),
    "b64-copy3-full-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=3.0, copy_until=1.0, width=0.5),
                            "straight_through", False),
    "b64-rel-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, loss_scale="relative", width=0.5),
                     "straight_through", False),
    "b64-copy-rel-w0.5": (dict(batch_size=64, lr=5e-4, schedule="linear", mask_bias=2.0, copy_weight=1.0, loss_scale="relative",
                               width=0.5), "straight_through", False),
}

# every recipe is scored on the small book's Table 1 test MLPs, whatever the training seed
BOOK_TEST_SEED = test_seed(get_config("small").seed)


def mlps_per_s(config, amp: bool, steps: int = 24) -> float:
    """Training MLPs/s of ``config``'s batch size and width (after 2 warm-up steps), measured now."""
    model = MultiScaleAutoencoder(width=config.width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    x = input_grid()
    for k in range(steps + 2):
        if k == 2:
            t0 = time.perf_counter()
        loss, _ = step_loss(model, config, "sigmoid", k, x, amp=amp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * config.batch_size / (time.perf_counter() - t0)


def run(name: str, budget_s: float | None, eval_mlps: int, rates: dict, seed: int = 0, mlp_passes: int | None = None) -> dict:
    """Train recipe ``name`` for ``budget_s`` seconds of steps (from its measured MLPs/s) or, where
    given, for ``mlp_passes`` MLP passes (3 epochs either way), and score it on the held-out MLPs."""
    overrides, mask_grad, amp = RECIPES[name]
    small = get_config("small", seed=seed)
    probe = small.replace(**overrides)
    key = f"{probe.batch_size}{'-bf16' if amp else ''}" + (f"-w{probe.width:g}" if probe.width != 1 else "")
    if mlp_passes is None and key not in rates:
        rates[key] = mlps_per_s(probe, amp)
    passes = mlp_passes if mlp_passes is not None else budget_s * rates[key]
    steps = max(3, round(passes / probe.batch_size / 3) * 3)
    config = small.replace(**overrides, train_mlps=steps // 3 * probe.batch_size, epochs=3,
                           val_every=10**9, checkpoint_every=10**9)
    scored = train_and_score(config, "sigmoid", eval_mlps, BOOK_TEST_SEED, mask_grad=mask_grad, device="cpu", amp=amp)
    hist = scored.pop("history")
    scored.pop("model")
    tail = hist["loss"][-max(1, len(hist["loss"]) // 10):]
    return {"name": name, "seed": seed, "overrides": overrides, "mask_grad": mask_grad, "amp": amp, "steps": config.total_steps,
            "mlp_passes": config.total_steps * config.batch_size, "calibrated_mlps_per_s": rates.get(key),
            "train_seconds": scored.pop("train_seconds"), "final_loss": sum(tail) / len(tail), **scored,
            "provenance": provenance("cpu", config)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=150.0, help="training seconds per recipe (today's small: ~155 s)")
    ap.add_argument("--mlp-passes", type=int, default=None,
                    help="train each recipe for this many MLP passes instead of --budget-s seconds (small's: 102,336)")
    ap.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, from {list(RECIPES)}")
    ap.add_argument("--eval-mlps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0,
                    help="the seed of the training MLPs and the initial weights (the held-out MLPs stay seed 10,000)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--append", action="store_true", help="add the recipes to the study in --out (same budget)")
    ap.add_argument("--table", default=None, help="print the markdown table of a study file and exit")
    a = ap.parse_args(argv)
    if a.table:
        study = json.loads(Path(a.table).read_text())
        print(reports.recipe_table(study))
        print(reports.recipe_collapse_table(study))
        return 0
    names = a.recipes.split(",")
    bad = [n for n in names if n not in RECIPES]
    if bad or not a.out:
        raise SystemExit(f"--recipes must name recipes from {list(RECIPES)} (got {bad}); --out is required")
    if not a.budget_s > 0 or a.eval_mlps < 1 or a.seed < 0 or (a.mlp_passes is not None and a.mlp_passes < 1):
        raise SystemExit("--budget-s must be > 0, --eval-mlps >= 1, --seed >= 0 and --mlp-passes >= 1")
    budget_s = None if a.mlp_passes is not None else a.budget_s
    torch.set_num_threads(a.threads)
    command = "python studies/recipe_study.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.append:
        study = json.loads(Path(a.out).read_text())
        if (study["budget_s"], study.get("mlp_passes"), study["eval_mlps"]) != (budget_s, a.mlp_passes, a.eval_mlps):
            raise SystemExit(f"--append: {a.out} was made with --budget-s {study['budget_s']} --mlp-passes "
                             f"{study.get('mlp_passes')} --eval-mlps {study['eval_mlps']}")
        study["command"] += f"; then {command}"
    else:
        study = {"command": command, "budget_s": budget_s, "mlp_passes": a.mlp_passes, "eval_mlps": a.eval_mlps,
                 "floors": diagnostics.floors("sigmoid", a.eval_mlps, BOOK_TEST_SEED), "recipes": [],
                 "provenance": provenance("cpu", get_config("small"))}
    rates: dict = {}
    for name in names:
        study["recipes"].append(run(name, budget_s, a.eval_mlps, rates, a.seed, a.mlp_passes))
        study["rates"] = rates
        write_json(Path(a.out), study)
        r = study["recipes"][-1]
        print(f"[recipe] {name}: {r['steps']} steps in {r['train_seconds']:.0f} s; best-decoder medians "
              f"{[round(v, 1) for v in r['best_median']]}, correlation {[round(v, 2) for v in r['median_correlation']]}", flush=True)
    print(reports.recipe_table(study))
    print(reports.recipe_collapse_table(study))
    return 0


if __name__ == "__main__":
    sys.exit(main())
