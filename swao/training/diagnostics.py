"""What a table of MPEs cannot show: does a decoding follow its input's *shape*, or only its level?

* Floors: the per-MLP MPE (eq. 7) of two predictors that ignore the autoencoder, on the same
  test MLPs as Tables 1/3 (:func:`swao.training.evaluation.test_mlps`): the best constant (an oracle:
  each MLP's own median output over the grid) and a least-squares linear fit on the grid.
  A decoder that does not beat the constant has learned nothing an MLP's level does not give.
* Collapse: per encoder, the share of MLPs whose best decoding (lowest MPE) is near-constant
  (:func:`swao.method.metrics.is_near_constant`: its standard deviation over the grid under 5 % of the target's) and the median Pearson
  correlation between that decoding and the target over the grid.
* Masks: per decoder, the mean number of active neurons in each hidden layer, the share of MLPs
  decoded with a dead layer (no active neuron: a constant output) and the number of distinct
  mask patterns over all the test MLPs.
"""
from __future__ import annotations

import torch
from torch import nn

from swao.method import losses
from swao.training.evaluation import decodings, mpe_summary, per_decoder_mpe, test_mlps, validation_mlps
from swao.method.generation import input_grid
from swao.method.metrics import is_near_constant, median, mpe
from swao.method.representation import DEPTHS, MAX_DEPTH

def _stats(per_mlp: torch.Tensor) -> dict:
    """``{"median", "mean"}`` over the last dim, as lists over encoders."""
    return {"median": median(per_mlp.double()).tolist(), "mean": per_mlp.double().mean(-1).tolist()}


# The least-squares driver of the linear floor: QR ("gels"; the design matrix, the inputs and an
# intercept, has full rank). The CPU default, "gelsy", returned a different last digit from one
# call to the next in one process at a fixed thread count (benchmarks/RESULTS.md, "The layout by layer").
LSTSQ_DRIVER = "gels"


def floor_predictions(y: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The two floors' outputs for targets ``y (n, P)`` on inputs ``x (P, 3)``."""
    X = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1).double()
    coef = torch.linalg.lstsq(X.expand(y.shape[0], -1, -1), y.double()[..., None], driver=LSTSQ_DRIVER).solution
    return {"constant": median(y)[:, None].expand_as(y), "linear": (X @ coef).squeeze(-1).to(y.dtype)}


def dataset_floors(data: dict) -> dict:
    """The two floors on a search dataset (Table 2), fitted on its training split and scored (MPE,
    eq. 7) on its test split: the training outputs' median (1 parameter) and the least-squares
    linear fit in ``x`` with an intercept (4 parameters). ``{name: {"mpe", "parameters"}}``."""
    X = torch.cat([data["x_train"], torch.ones(len(data["x_train"]), 1)], 1).double()
    coef = torch.linalg.lstsq(X, data["y_train"].double()[:, None], driver=LSTSQ_DRIVER).solution
    Xt = torch.cat([data["x_test"], torch.ones(len(data["x_test"]), 1)], 1).double()
    y = data["y_test"].double()
    preds = {"constant": median(data["y_train"].double()).expand_as(y), "linear": (Xt @ coef).squeeze(-1)}
    return {name: {"mpe": float(mpe(p, y)), "parameters": 1 if name == "constant" else 4} for name, p in preds.items()}


def floor_mpe(y: torch.Tensor, x: torch.Tensor) -> dict[str, dict]:
    """The two floors' per-MLP MPE (eq. 7) on targets ``y (n, P)``, summarised: ``{name: {"median", "mean"}}``."""
    out = {}
    for name, pred in floor_predictions(y, x).items():
        m = mpe(pred, y).double()
        out[name] = {"median": float(median(m)), "mean": float(m.mean())}
    return out


def floors(activation: str, n_mlps_per_encoder: int, seed: int) -> dict:
    """Per encoder (input depth), the median and mean per-MLP MPE of the constant and the linear floor."""
    x = input_grid()
    per = {"constant": [], "linear": []}
    for padded, depth in test_mlps(activation, n_mlps_per_encoder, seed):
        y = losses.target_outputs(padded, depth, x, activation)
        for name, pred in floor_predictions(y, x).items():
            per[name].append(mpe(pred, y))
    return {name: _stats(torch.stack(v)) for name, v in per.items()}


def validation_floors(config, activation: str) -> dict:
    """:func:`floors` on a run's validation MLPs (:func:`swao.training.evaluation.validation_mlps`):
    what its learning curve must get below to have learned more than each MLP's level."""
    return floors(activation, *validation_mlps(config))


def correlation(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pearson correlation over the last dim (0 where either side is constant)."""
    pc, yc = pred - pred.mean(-1, keepdim=True), y - y.mean(-1, keepdim=True)
    return (pc * yc).sum(-1) / (pc.norm(dim=-1) * yc.norm(dim=-1)).clamp_min(1e-12)


def best_decoding(preds: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each MLP's best decoding among ``preds (4, n, P)`` against ``y (n, P)``: ``(per (4, n) MPE
    float64, best (n,) decoder index, chosen (n, P) outputs)``."""
    per = per_decoder_mpe(preds, y)
    best = per.argmin(0)
    return per, best, preds[best, torch.arange(len(y))]


def views(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None) -> tuple[torch.Tensor, dict]:
    """One pass over the test MLPs of ``seed`` (:func:`swao.training.evaluation.decodings`): the
    per-MLP MPE ``(4 encoders, 4 decoders, n)`` of :func:`swao.training.evaluation.mpe_per_mlp`
    and the collapse and mask views above."""
    per_mlp = torch.zeros(MAX_DEPTH, MAX_DEPTH, n_mlps_per_encoder, dtype=torch.float64)
    near, corr, masks = [[] for _ in DEPTHS], [[] for _ in DEPTHS], [[] for _ in DEPTHS]
    for e, s, y, decoded, preds in decodings(model, activation, n_mlps_per_encoder, seed, device):
        per, _, chosen = best_decoding(preds, y)
        per_mlp[e, :, s : s + len(y)] = per.cpu()
        near[e].append(is_near_constant(chosen, y).cpu())
        corr[e].append(correlation(chosen, y).double().cpu())
        for j, g in enumerate(decoded):
            masks[j].append(g[..., -DEPTHS[j]:].cpu())
    decoders = []
    for j, ms in enumerate(masks):
        m = torch.cat(ms)  # (4n, 7, L): every test MLP through D_j
        active = m.sum(1)  # (4n, L)
        decoders.append({
            "active_per_layer": active.mean(0).tolist(),
            "dead_layer_share": float((active == 0).any(-1).double().mean()),
            "mask_patterns": int(torch.unique(m.flatten(1), dim=0).shape[0]),
        })
    return per_mlp, {
        "near_constant_share": [float(torch.cat(v).double().mean()) for v in near],
        "median_correlation": [float(median(torch.cat(v))) for v in corr],
        "decoders": decoders, "dead_decoders": [f"D{j + 1}" for j, d in enumerate(decoders) if d["dead_layer_share"] > 0.5]}


def collapse(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None) -> dict:
    """The collapse and mask views above for one autoencoder, on the test MLPs of ``seed``."""
    return views(model, activation, n_mlps_per_encoder, seed, device)[1]


def table1_view(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None) -> dict:
    """One autoencoder scored as the book's Table 1 is, on the test MLPs of ``seed``, in one pass:
    the table's cells and the per-MLP best decoder's views (:func:`swao.training.evaluation.mpe_summary`),
    with the collapse views above."""
    per_mlp, shape = views(model, activation, n_mlps_per_encoder, seed, device)
    return {**mpe_summary(per_mlp), **shape}


__all__ = ["floors", "floor_predictions", "floor_mpe", "dataset_floors", "correlation", "best_decoding",
           "views", "collapse", "table1_view"]
