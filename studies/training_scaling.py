"""How far does compute explain the gap? The scaling study.

Trains the sigmoid-based min-loss autoencoder with the ``small`` config (its recipe, batch and
schedule) but ``factor`` times its training MLPs per epoch, for each of ``--factors``, and scores
each as the book's Table 1 does (``eval_mlps`` test MLPs per encoder, seed 10,000): the table's
cells, the per-MLP best decoder's median and mean per encoder, and the collapse views of
:mod:`swao.training.diagnostics`, beside the floors on the same MLPs and the paper's Table 1 (12.8 M MLP
passes). Each factor is written to ``--out`` as soon as it is done (a stopped run keeps what it
finished, and a rerun skips the factors already there). The book plots it (``swao.render.learning_plots.plot_scaling``).

    python studies/training_scaling.py --factors 0.25,0.5,1,2,4 --out results/scaling/sigmoid-min.json

``--curve F`` trains one run of factor ``F`` (its own linear schedule over all its steps) and
scores it also on the way, after the steps of each factor in ``--curve-at``: a learning curve, one
run's cost for many points. Those on-the-way points are not budget-``k`` runs (their learning rate
has not decayed yet), so they are kept apart (``study["curve"]``) and the book marks them; the
end of the run is a budget-``F`` run and joins ``runs``. It halts at each point, scores the
model, and resumes from its last checkpoint (``--run-dir``; bit for bit the same weights as one
uninterrupted run, see ``tests/test_train.py``), so a stopped curve continues where it was.

    python studies/training_scaling.py --curve 16 --curve-at 1,2,4,8 --out results/scaling/sigmoid-min.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.training import diagnostics
from swao.training.evaluation import test_seed
from swao.book.cache import write_json
from swao.book.provenance import provenance
from swao.training.config import get_config
from swao.book.paper import paper_tables
from swao.training.spec import autoencoder_spec
from swao.training.train import lr_at, train_autoencoder
from swao.book.autoencoders import train_and_score


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="0.25,0.5,1,2,4", help="training MLPs per epoch, as multiples of small's")
    ap.add_argument("--curve", type=float, default=None, help="one run of this factor, scored also at --curve-at")
    ap.add_argument("--curve-at", default="1,2,4,8", help="factors (< --curve) after whose steps the curve run is scored")
    ap.add_argument("--run-dir", default=None, help="the curve run's checkpoint directory (default: under /tmp)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    factors = [] if a.curve is not None else _factors("--factors", a.factors)
    if a.curve is not None:
        if not a.curve > 0:
            raise SystemExit(f"--curve must be > 0, got {a.curve!r}")
        at = _factors("--curve-at", a.curve_at)
        if any(k >= a.curve for k in at):
            raise SystemExit(f"--curve-at must be below --curve ({a.curve:g}), got {a.curve_at!r}")
    torch.set_num_threads(a.threads)
    small = get_config("small")
    out = Path(a.out)
    study = json.loads(out.read_text()) if out.exists() else {
        "command": "python studies/training_scaling.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "autoencoder": "sigmoid-min", "eval_mlps": small.eval_mlps, "paper_mlp_passes": 12_800_000,
        "paper_table1_min": paper_tables()["table1"]["blocks"]["min"],
        "floors": diagnostics.floors("sigmoid", small.eval_mlps, test_seed(small.seed)), "runs": []}
    done = {r["factor"] for r in study["runs"]}
    for f in factors:
        if f in done:
            continue
        config = scaled_config(small, f)
        scored = train_and_score(config, "sigmoid", small.eval_mlps, test_seed(small.seed), mask_grad=small.mask_grad, device="cpu")
        study["runs"].append({"factor": f, "steps": config.total_steps, "mlp_passes": config.total_steps * config.batch_size,
                              **{k: v for k, v in scored.items() if k not in ("history", "model", "train_seconds")},
                              "train_seconds": scored["train_seconds"], "provenance": provenance("cpu", config)})
        study["runs"].sort(key=lambda r: r["factor"])
        write_json(out, study)
        report(f"x{f:g}", config.total_steps, scored["train_seconds"], study["runs"][-1])
    if a.curve is not None:
        curve(study, out, small, a.curve, at, Path(a.run_dir or tempfile.gettempdir()) / f"swao-scaling-curve-x{a.curve:g}")
    return 0


def _factors(name: str, text: str) -> list[float]:
    try:
        factors = [float(f) for f in text.split(",")]
    except ValueError:
        raise SystemExit(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not factors or any(not f > 0 for f in factors):
        raise SystemExit(f"{name} must be > 0, got {text!r}")
    return factors


def scaled_config(small, factor: float):
    """``small`` with ``factor`` times its training MLPs per epoch (whole batches), and no
    validation or checkpoint on the way."""
    n = max(small.batch_size, round(small.train_mlps * factor / small.batch_size) * small.batch_size)
    return small.replace(train_mlps=n, val_every=10**9, checkpoint_every=10**9)


def score(model, small, steps: int, batch_size: int) -> dict:
    """Table 1's view of one trained model on ``small``'s test MLPs, and its collapse views."""
    return {"steps": steps, "mlp_passes": steps * batch_size,
            **diagnostics.table1_view(model.eval(), "sigmoid", small.eval_mlps, test_seed(small.seed))}


def report(name: str, steps: int, seconds: float, row: dict) -> None:
    print(f"[scaling] {name}: {steps} steps, {seconds:.0f} s; best-decoder medians "
          f"{[round(v, 1) for v in row['best_median']]}", flush=True)


def curve(study: dict, out: Path, small, factor: float, at: list[float], run_dir: Path) -> None:
    """One run of ``factor``, scored after the steps of each factor in ``at`` and at its end."""
    config = scaled_config(small, factor)
    # checkpoints often enough that resuming after a scored halt repeats few steps
    config = config.replace(checkpoint_every=max(1, config.steps_per_epoch // 64))
    record = study.get("curve")
    if record is None or record["factor"] != factor:
        record = study["curve"] = {"factor": factor, "steps": config.total_steps, "points": [],
                                   "note": "one run's linear schedule over all its steps, scored on the way: "
                                           "a point before the end is not a budget-k run (its lr has not decayed)"}
    halts = sorted({scaled_config(small, k).total_steps for k in at} | {config.total_steps})
    scored = {p["steps"] for p in record["points"]}
    t0 = time.perf_counter()
    for stop in halts:
        if stop in scored:
            continue
        end = stop == config.total_steps
        run = train_autoencoder(config, autoencoder_spec(config, "sigmoid", mask_grad=small.mask_grad), run_dir, device="cpu",
                                resume=True, halt_at_step=None if end else stop)
        point = {**score(run["model"], small, stop, config.batch_size), "lr": lr_at(config, stop - 1),
                 "seconds_so_far": time.perf_counter() - t0, "provenance": provenance("cpu", config)}
        record["points"].append(point)
        if end:
            study["runs"] = [r for r in study["runs"] if r["factor"] != factor]
            study["runs"].append({"factor": factor, **{k: v for k, v in point.items() if k not in ("lr", "seconds_so_far")},
                                  "train_seconds": None, "note": f"the end of the curve run ({run_dir.name})"})
            study["runs"].sort(key=lambda r: r["factor"])
        write_json(out, study)
        report(f"curve x{factor:g} at step {stop}", stop, point["seconds_so_far"], point)


if __name__ == "__main__":
    sys.exit(main())
