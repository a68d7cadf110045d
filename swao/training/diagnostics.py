"""What a table of MPEs cannot show: does a decoding follow its input's *shape*, or only its level?

* Floors: the per-MLP MPE (eq. 7) of two predictors that ignore the autoencoder, on the same
  test MLPs as Tables 1/3 (:func:`swao.training.evaluation.test_mlps`): the best constant (an oracle:
  each MLP's own median output over the grid) and a least-squares linear fit on the grid.
  A decoder that does not beat the constant has learned nothing an MLP's level does not give.
* Collapse: per encoder, the share of MLPs whose best decoding (lowest MPE) is near-constant
  (its standard deviation over the grid under 5 % of the target's) and the median Pearson
  correlation between that decoding and the target over the grid.
* Masks: per decoder, the mean number of active neurons in each hidden layer, the share of MLPs
  decoded with a dead layer (no active neuron: a constant output) and the number of distinct
  mask patterns over all the test MLPs.
"""
from __future__ import annotations

import torch
from torch import nn

from swao.method import losses
from swao.training.evaluation import mpe_per_mlp, mpe_summary, test_mlps
from swao.method.forward import forward
from swao.method.generation import input_grid
from swao.method.metrics import median, mpe
from swao.method.model import device_of
from swao.method.representation import DEPTHS

NEAR_CONSTANT = 0.05  # a decoding whose std over the grid is under this share of the target's


def _stats(per_mlp: torch.Tensor) -> dict:
    """``{"median", "mean"}`` over the last dim, as lists over encoders."""
    return {"median": median(per_mlp.double()).tolist(), "mean": per_mlp.double().mean(-1).tolist()}


def floor_predictions(y: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The two floors' outputs for targets ``y (n, P)`` on inputs ``x (P, 3)``."""
    X = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1).double()
    coef = torch.linalg.lstsq(X.expand(y.shape[0], -1, -1), y.double()[..., None]).solution
    return {"constant": median(y)[:, None].expand_as(y), "linear": (X @ coef).squeeze(-1).to(y.dtype)}


def dataset_floors(data: dict) -> dict:
    """The two floors on a search dataset (Table 2), fitted on its training split and scored (MPE,
    eq. 7) on its test split: the training outputs' median (1 parameter) and the least-squares
    linear fit in ``x`` with an intercept (4 parameters). ``{name: {"mpe", "parameters"}}``."""
    X = torch.cat([data["x_train"], torch.ones(len(data["x_train"]), 1)], 1).double()
    coef = torch.linalg.lstsq(X, data["y_train"].double()[:, None]).solution
    Xt = torch.cat([data["x_test"], torch.ones(len(data["x_test"]), 1)], 1).double()
    y = data["y_test"].double()
    preds = {"constant": median(data["y_train"].double()).expand_as(y), "linear": (Xt @ coef).squeeze(-1)}
    return {name: {"mpe": float(mpe(p, y)), "parameters": 1 if name == "constant" else 4} for name, p in preds.items()}


def floors(activation: str, n_mlps_per_encoder: int, seed: int) -> dict:
    """Per encoder (input depth), the median and mean per-MLP MPE of the constant and the linear floor."""
    x = input_grid()
    per = {"constant": [], "linear": []}
    for padded, depth in test_mlps(activation, n_mlps_per_encoder, seed):
        y = losses.target_outputs(padded, depth, x, activation)
        for name, pred in floor_predictions(y, x).items():
            per[name].append(mpe(pred, y))
    return {name: _stats(torch.stack(v)) for name, v in per.items()}


def correlation(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pearson correlation over the last dim (0 where either side is constant)."""
    pc, yc = pred - pred.mean(-1, keepdim=True), y - y.mean(-1, keepdim=True)
    return (pc * yc).sum(-1) / (pc.norm(dim=-1) * yc.norm(dim=-1)).clamp_min(1e-12)


@torch.no_grad()
def collapse(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int) -> dict:
    """The collapse and mask views above for one autoencoder, on the test MLPs of ``seed``."""
    model = getattr(model, "module", model)
    dev = device_of(model)
    was_training = model.training
    model.eval()
    x = input_grid().to(dev)
    near, corr, masks = [], [], [[] for _ in DEPTHS]
    try:
        for padded, depth in test_mlps(activation, n_mlps_per_encoder, seed):
            padded, depth = padded.to(dev), depth.to(dev)
            y = losses.target_outputs(padded, depth, x, activation)
            decoded = model(padded, depth)
            preds = torch.stack([forward(g.float(), x, activation) for g in decoded])  # (4, n, P)
            best = torch.stack([mpe(p, y) for p in preds]).argmin(0)  # (n,)
            chosen = preds[best, torch.arange(len(y))]
            near.append((chosen.std(-1) < NEAR_CONSTANT * y.std(-1)).double().mean())
            corr.append(median(correlation(chosen, y).double()))
            for j, g in enumerate(decoded):
                masks[j].append(g[..., -DEPTHS[j]:].cpu())
    finally:
        model.train(was_training)
    decoders = []
    for j, ms in enumerate(masks):
        m = torch.cat(ms)  # (4n, 7, L): every test MLP through D_j
        active = m.sum(1)  # (4n, L)
        decoders.append({
            "active_per_layer": active.mean(0).tolist(),
            "dead_layer_share": float((active == 0).any(-1).double().mean()),
            "mask_patterns": int(torch.unique(m.flatten(1), dim=0).shape[0]),
        })
    return {"near_constant_share": torch.stack(near).tolist(), "median_correlation": torch.stack(corr).tolist(),
            "decoders": decoders, "dead_decoders": [f"D{j + 1}" for j, d in enumerate(decoders) if d["dead_layer_share"] > 0.5]}


def table1_view(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int) -> dict:
    """One autoencoder scored as the book's Table 1 is, on the test MLPs of ``seed``: the table's
    cells and the per-MLP best decoder's views (:func:`swao.training.evaluation.mpe_summary`), with the
    collapse views above."""
    return {**mpe_summary(mpe_per_mlp(model, activation, n_mlps_per_encoder, seed)),
            **collapse(model, activation, n_mlps_per_encoder, seed)}


__all__ = ["NEAR_CONSTANT", "floors", "floor_predictions", "correlation", "collapse", "table1_view"]
