"""Undertrained or broken? The depth-1 diagnostic: the easiest sub-problem of the paper's
autoencoder, trained for a fixed wall-clock budget on a CPU.

Only 1-hidden-layer MLPs of one type go in (encoder E1), and only decoder D1's output is scored:
the loss is D1's functional MSE on the 1,000-point grid (eq. 2/3 with one decoder), on fresh
random MLPs every step (the appendix's generator, depth fixed to 1). Every ``--eval-every``
steps, 200 held-out depth-1 MLPs (a seed of their own) are decoded and D1's per-MLP MPE (eq. 7)
is recorded -- median and mean over the MLPs, the share of near-constant decodings (their std
over the grid below 5 % of the target's), the median Pearson correlation with the target, the
active neurons -- beside two floors on the same MLPs: each MLP's own median output (an oracle
constant) and a least-squares linear fit on the grid. The paper's Table 1 has 5.84 % for D1 on
E1 (min loss, a mean over 1,000 MLPs, after 12.8 M MLP passes of all depths).

    python studies/depth1_diagnostic.py --minutes 30 --out results/diagnostic/depth1-sigmoid.json

The result file holds the learning curve, the floors, the command and the provenance.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.training import diagnostics
from swao.training.evaluation import test_seed
from swao.book.cache import write_json
from swao.book.provenance import provenance
from swao.method.generation import generator, input_grid, random_mlps
from swao.method.forward import forward
from swao.method.losses import target_outputs
from swao.method.metrics import is_near_constant, median, mpe
from swao.method.model import MASK_GRADS, MultiScaleAutoencoder
from swao.method.progress import bar

PAPER_D1_E1 = 5.84  # Table 1, min loss, D1 row, E1 column


@torch.no_grad()
def evaluate(model, p, d, y, x, activation) -> dict:
    model.eval()
    g = model.decode_depth(model.encode(p, d, counts=(len(p), 0, 0, 0)), 1)
    pred = forward(g, x, activation)
    model.train()
    m = mpe(pred, y).double()
    near_constant = is_near_constant(pred, y)
    corr = diagnostics.correlation(pred, y)
    return {"d1_median": float(median(m)), "d1_mean": float(m.mean()), "near_constant": float(near_constant.float().mean()),
            "corr_median": float(median(corr.double())), "active_neurons": float(g[..., -1].sum(-1).mean())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--activation", default="sigmoid", choices=("sigmoid", "leaky_relu", "linear"))
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4, help="Adam; halved at half the budget and again at three quarters")
    ap.add_argument("--mask-grad", default="straight_through", choices=MASK_GRADS)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-mlps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    for name in ("minutes", "lr"):
        if not getattr(a, name) > 0:
            raise SystemExit(f"--{name} must be > 0, got {getattr(a, name)}")
    for name in ("batch", "eval_every", "eval_mlps", "threads"):
        if getattr(a, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = MultiScaleAutoencoder(mask_grad=a.mask_grad)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    x = input_grid()
    p_ev, d_ev = random_mlps(a.eval_mlps, a.activation, gen=generator(test_seed(a.seed)), depth=1)
    y_ev = target_outputs(p_ev, d_ev, x, a.activation)
    result = {"command": "python studies/depth1_diagnostic.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "args": vars(a), "paper_d1_e1": PAPER_D1_E1, "floors": diagnostics.floor_mpe(y_ev, x), "curve": [],
              "provenance": provenance("cpu")}
    gen = generator(a.seed)
    budget, start, step = 60 * a.minutes, time.perf_counter(), 0
    shown = bar(None, f"depth-1 {a.activation}")

    def record() -> None:
        e = evaluate(model, p_ev, d_ev, y_ev, x, a.activation)
        result["curve"].append({"step": step, "mlp_passes": step * a.batch, "seconds": time.perf_counter() - start,
                                "lr": opt.param_groups[0]["lr"], "loss": loss_avg, **e})
        shown.set_postfix(d1_median=f"{e['d1_median']:.1f}", corr=f"{e['corr_median']:.2f}")
        write_json(Path(a.out), result)  # atomically, at every evaluation: a stopped run keeps its curve

    loss_avg = float("nan")
    record()
    losses = []
    while time.perf_counter() - start < budget:
        frac = (time.perf_counter() - start) / budget
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.5 if frac >= 0.5 else 1.0) * (0.5 if frac >= 0.75 else 1.0)
        p, d = random_mlps(a.batch, a.activation, gen=gen, depth=1)
        y = target_outputs(p, d, x, a.activation)
        g1 = model.decode_depth(model.encode(p, d, counts=(a.batch, 0, 0, 0)), 1)
        loss = (forward(g1, x, a.activation) - y).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss))
        shown.update(1)
        if step % a.eval_every == 0:
            loss_avg = sum(losses) / len(losses)
            losses.clear()
            record()
    loss_avg = sum(losses) / len(losses) if losses else float("nan")
    record()
    shown.close()
    last = result["curve"][-1]
    print(f"{step} steps, {step * a.batch:,} MLP passes in {last['seconds']:.0f} s: D1 median MPE {last['d1_median']:.1f} % "
          f"(mean {last['d1_mean']:.1f} %), near-constant {100 * last['near_constant']:.0f} %, median correlation "
          f"{last['corr_median']:.2f}; floors: constant {result['floors']['constant']['median']:.1f} %, linear "
          f"{result['floors']['linear']['median']:.1f} % (medians); paper D1/E1 {PAPER_D1_E1} % (a mean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
