"""Can the paper's autoencoder memorise one batch? The pre-flight of the paper-budget run.

The same fixed batch of MLPs (``--mlps`` sigmoid-based MLPs, a quarter of each depth, drawn
once) is the whole training set: every step is Adam on eq. 3's min loss over exactly those
MLPs, at a constant learning rate, with the paper's network (``--width 1``). Every
``--eval-every`` steps the very same MLPs are decoded and scored: per MLP, the MPE (eq. 7) of
its best decoder; the median and mean over MLPs, the share of near-constant best decodings and
the median correlation with the target (:mod:`swao.training.diagnostics`), beside the two floors on the
same MLPs (each MLP's own median output, a least-squares linear fit). An 11 M-parameter network
that cannot drive 64 training examples well under the constant floor has an optimisation
problem, not a data or a compute one.

One run per (learning rate, mask kind); the runs are sequential (never two trainings at once):

    python studies/memorisation.py --lrs 1e-4,3e-4,1e-3,3e-3 --mask-grads none --steps 1000 \\
        --out results/diagnostic/memorisation-sigmoid.json
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.training import diagnostics
from swao.method import losses
from swao.book.cache import read_json, write_json
from swao.book.provenance import provenance
from swao.training.config import get_config
from swao.method.forward import forward
from swao.method.generation import input_grid, mix_seed
from swao.method.metrics import is_near_constant, median
from swao.method.model import MASK_GRADS, MultiScaleAutoencoder
from swao.method.progress import bar
from swao.training.train import train_batch


@torch.no_grad()
def score(model, padded, depth, counts, y, x, activation) -> dict:
    """The batch's own MLPs through the model: best decoder per MLP, its MPE and shape."""
    model.eval()
    preds = torch.stack([forward(g.float(), x, activation) for g in model(padded, depth, counts)])  # (4, n, P)
    model.train()
    per, best, chosen = diagnostics.best_decoding(preds, y)  # (4, n), (n,), (n, P)
    best_mpe = per.min(0).values
    return {"best_median": float(median(best_mpe)), "best_mean": float(best_mpe.mean()),
            "near_constant": float(is_near_constant(chosen, y).double().mean()),
            "corr_median": float(median(diagnostics.correlation(chosen, y).double())),
            "best_decoder_share": torch.bincount(best, minlength=4).div(len(best)).tolist()}


def run_one(lr: float, mask_grad: str, a, padded, depth, counts, y, x) -> dict:
    """One training on the fixed batch; returns its curve."""
    config = get_config("paper", batch_size=a.mlps, seed=a.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(config.seed, "init"))  # the same initial weights in every run
        model = MultiScaleAutoencoder(mask_grad=mask_grad, width=a.width)
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    curve, start, window = [], time.perf_counter(), []
    shown = bar(a.steps, f"memorise lr={lr:g} {mask_grad}")
    for step in range(a.steps + 1):
        if step % a.eval_every == 0 or step == a.steps:
            loss_avg = sum(window) / len(window) if window else float("nan")
            window.clear()
            curve.append({"step": step, "seconds": time.perf_counter() - start, "loss": loss_avg,
                          **score(model, padded, depth, counts, y, x, a.activation)})
            shown.set_postfix(loss=f"{loss_avg:.3g}", median=f"{curve[-1]['best_median']:.1f}")
        if step == a.steps:
            break
        decoded = model(padded, depth, counts)
        loss, _ = losses.autoencoder_loss(decoded, y, x, a.activation, "min")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        window.append(loss.item())
        shown.update(1)
    shown.close()
    return {"lr": lr, "mask_grad": mask_grad, "curve": curve}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--activation", default="sigmoid", choices=("sigmoid", "leaky_relu", "linear"))
    ap.add_argument("--mlps", type=int, default=64, help="the fixed batch (a multiple of 4)")
    ap.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3", help="comma-separated Adam learning rates (constant)")
    ap.add_argument("--mask-grads", default="none", help=f"comma-separated, from {MASK_GRADS}")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--width", type=float, default=1.0, help="1: the paper's network")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="JSON; runs already in it (same lr and mask kind) are kept, not rerun")
    a = ap.parse_args(argv)
    try:
        lrs = [float(v) for v in a.lrs.split(",")]
    except ValueError:
        raise SystemExit(f"--lrs must be comma-separated numbers, got {a.lrs!r}")
    masks = a.mask_grads.split(",")
    if any(m not in MASK_GRADS for m in masks):
        raise SystemExit(f"--mask-grads must be from {MASK_GRADS}, got {a.mask_grads!r}")
    if not all(v > 0 for v in lrs):
        raise SystemExit(f"--lrs must all be > 0, got {a.lrs!r}")
    if a.mlps < 4 or a.mlps % 4:
        raise SystemExit(f"--mlps must be a positive multiple of 4, got {a.mlps}")
    for name in ("steps", "eval_every", "threads"):
        if getattr(a, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")

    torch.set_num_threads(a.threads)
    x = input_grid()
    padded, depth, counts = train_batch(get_config("paper", batch_size=a.mlps, seed=a.seed), a.activation, 0)
    y = losses.target_outputs(padded, depth, x, a.activation, counts)
    out = Path(a.out)
    result = read_json(out) if out.exists() else {"runs": []}
    result.update({"activation": a.activation, "mlps": a.mlps, "steps": a.steps, "width": a.width,
                   "floors": diagnostics.floor_mpe(y, x), "provenance": provenance("cpu"),
                   "command": "python studies/memorisation.py " + " ".join(sys.argv[1:] if argv is None else argv)})
    for mask_grad in masks:
        for lr in lrs:
            if any(r["lr"] == lr and r["mask_grad"] == mask_grad and r["curve"][-1]["step"] == a.steps for r in result["runs"]):
                continue
            run = run_one(lr, mask_grad, a, padded, depth, counts, y, x)
            result["runs"] = [r for r in result["runs"] if (r["lr"], r["mask_grad"]) != (lr, mask_grad)] + [run]
            write_json(out, result)  # after every run: a stopped study keeps what it measured
            last, best = run["curve"][-1], min(run["curve"], key=lambda p: p["best_median"])
            print(f"lr {lr:g} {mask_grad}: best-decoder median {last['best_median']:.1f} % at the end "
                  f"(lowest {best['best_median']:.1f} % at step {best['step']}), mean {last['best_mean']:.1f} %, loss "
                  f"{last['loss']:.3g}; floors: constant {result['floors']['constant']['median']:.1f} %, linear "
                  f"{result['floors']['linear']['median']:.1f} %", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
