"""Search in the embedding space (Section 3.2, eq. 4-6), batched over decoders, datasets, restarts.

For a dataset ``(x, y)`` and a trained autoencoder, each decoder ``D_j`` gets its own embedding
``z ~ U[0, 1)^128`` and threshold ``t = 0``; Adam (lr 0.1 for ``z``, 0.01 for ``t``) minimises

* eq. 4 + 6:  ``loss = MSE(g_j(x), y) + lambda * sum_w [0.5 sigma(10(|w| - t)) + 0.1 |w|]``,
* eq. 5:      ``g_j`` is the MLP decoded from ``z`` with every weight switched ``w' = w sigma(100(|w| - t))``,

where ``w`` runs over the decoded weights *before* the switch (the ``7 x (7j+1)`` weight part of
the masked matrix, zeros of inactive neurons included, as in the authors' code) and
``lambda = (first-step MSE) / 7000`` is fixed per search. ``t`` is clamped to ``[0, 3]`` after
each step.

Many independent searches -- every (dataset, decoder, restart) triple -- run as ONE optimisation:
per decoder, ``z`` is one ``(triples, 128)`` tensor, ``t`` and ``lambda`` are per triple, the
loss is the sum of the per-triple losses and one Adam updates everything. Adam is elementwise, so
this is exactly the same as separate runs (tested). The only Python loop of a step is over the 4
decoders, which are independent and run on parallel threads on a multi-core CPU.

Speed (benchmarks/search_speed.py): the MLPs are evaluated with points last, ``(N, 7, P)``, and
their MSE and its gradient come from one fused, chunked pass (:class:`FusedMSE`).

Reported per triple: the state with the best *validation* loss (the same objective on the
validation set, checked every ``eval_every`` steps) as an exported MLP -- the switched weights
with ``|w| <= t`` set to 0 -- with its test MPE (eq. 7) and non-zero count, both measured on
exactly that exported matrix (``Result.sequential`` gives it as a plain ``nn.Sequential``).

Our choices (the paper does not say): the best state is chosen by validation loss (the authors'
code keeps the last one); ``lambda`` is per search (the authors' code sets it once, from the first
decoder's first step, and reuses it for the other decoders).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from . import tables
from .config import Config, get_config, resolve_device
from .forward import ACTIVATIONS, LEAKY_SLOPE, activation_functions, check_activation, forward, forward_points_last
from .generation import SPLIT, TARGET_NONZEROS, target_dataset
from .metrics import mpe
from .representation import DEPTHS, H, INPUT_ROWS, check_depth, depth_of, nonzero_count, split_matrix, to_sequential

SWITCH_SHARPNESS = 100.0  # eq. 5
N_FRAMES = 11  # snapshots of the exported MLPs along a search (the book's explorer)
COUNT_SHARPNESS, COUNT_WEIGHT, L1_WEIGHT = 10.0, 0.5, 0.1  # eq. 6
LAMBDA_DIVISOR = 7000.0  # lambda = first-step MSE / 7000
T_MAX = 3.0
Z_LR, T_LR = 0.1, 0.01
EMBED_DIM = 128
DATASETS = {f"{L}hl": L for L in TARGET_NONZEROS}  # "2hl", "3hl", "4hl"
MIN_CSV_ROWS = 10  # so that each of the 5:3:2 splits gets a row


# ---------------------------------------------------------------- eq. 5, 6 and the exported MLP
def _per_mlp(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t (...)`` -> ``(..., 1, 1)`` to broadcast over matrices ``(..., H, C)``."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.reshape(t.shape + (1, 1))


def weights_and_masks(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``(..., H, 8L+1)`` into the weight part ``(..., H, 7L+1)`` and the ``L`` mask columns."""
    L = depth_of(matrix)
    return matrix[..., : H * L + 1], matrix[..., H * L + 1 :]


def soft_switch(w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ``w' = w * sigmoid(100 (|w| - t))`` with a per-MLP threshold ``t (...)``."""
    return w * torch.sigmoid(SWITCH_SHARPNESS * (w.abs() - _per_mlp(t, w)))


def sparsity_penalty(w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Eq. 6 without ``lambda``: ``sum_w [0.5 sigmoid(10(|w| - t)) + 0.1 |w|]`` per MLP -> ``(...)``."""
    a = w.abs()
    per_weight = COUNT_WEIGHT * torch.sigmoid(COUNT_SHARPNESS * (a - _per_mlp(t, w))) + L1_WEIGHT * a
    return per_weight.sum(dim=(-2, -1))


def switched(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The matrix with its weights soft-switched (eq. 5); mask columns unchanged."""
    w, masks = weights_and_masks(matrix)
    return torch.cat([soft_switch(w, t), masks], dim=-1)


def export_matrix(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The reported MLP: switched weights (eq. 5) with ``|w| <= t`` set to exactly 0."""
    w, masks = weights_and_masks(matrix)
    keep = w.abs() > _per_mlp(t, w)
    return torch.cat([torch.where(keep, soft_switch(w, t), torch.zeros_like(w)), masks], dim=-1)


# ---------------------------------------------------------------- fast batched MLP evaluation
def mlp_predict(matrix: torch.Tensor, xt: torch.Tensor, activation: str) -> torch.Tensor:
    """Outputs ``(N, P)`` of masked matrices ``(N, H, 8L+1)`` on inputs ``xt (N, 3, P)``:
    :func:`swao.forward.forward_points_last` without the mask products (the decoders' matrices
    are masked already)."""
    return forward_points_last(matrix, xt, activation, masked=False)


CHUNK = 2**18  # values per (N, H, chunk) tensor of the fused MSE kernel (1 MiB: stays in cache)
MIN_CHUNK = 512  # points


def mlp_mse(matrix: torch.Tensor, xt: torch.Tensor, y: torch.Tensor, activation: str) -> torch.Tensor:
    """Per-MLP mean squared error ``(N,)`` of :func:`mlp_predict` (eq. 4).

    With gradients on, the fused kernel :class:`FusedMSE` computes the MSE and its gradient in
    one pass over chunks of points (about 1.5x faster than autograd on CPU; same numbers).
    """
    check_activation(activation)
    if torch.is_grad_enabled() and matrix.requires_grad:
        blocks, out, _ = split_matrix(matrix)
        return FusedMSE.apply(blocks, out, xt, y, activation)
    return (mlp_predict(matrix, xt, activation) - y).square().mean(-1)


_HIDDEN = {  # phi in place, and phi's backward from its output h
    "sigmoid": (torch.sigmoid_, lambda g, h: torch.ops.aten.sigmoid_backward(g, h)),
    "leaky_relu": (lambda a: nn.functional.leaky_relu_(a, LEAKY_SLOPE), lambda g, h: torch.ops.aten.leaky_relu_backward(g, h, LEAKY_SLOPE, True)),
    "linear": (lambda a: a, lambda g, h: g),
}


class FusedMSE(torch.autograd.Function):
    """``MSE (N,)`` of masked MLPs given as ``blocks (N, L, H, H)``, ``out (N, H)`` on
    ``xt (N, 3, P)``, ``y (N, P)``; the forward pass also computes the gradient (chunk by chunk:
    forward, then backward of the chunk while it is in cache), the backward pass only scales it.
    The masks are not used (see :func:`mlp_predict`): they get their gradient through
    :func:`swao.representation.apply_masks` only.
    """

    @staticmethod
    def forward(ctx, blocks, out, xt, y, activation):
        N, L, P = blocks.shape[0], blocks.shape[1], xt.shape[-1]
        phi, dphi = _HIDDEN[activation]
        sigmoid_out = activation_functions(activation)[1] is torch.sigmoid
        w_in = [blocks[:, 0, list(INPUT_ROWS)].transpose(1, 2).contiguous()] + [blocks[:, l].transpose(1, 2).contiguous() for l in range(1, L)]
        w_back = [None] + [blocks[:, l].contiguous() for l in range(1, L)]
        grads = [blocks.new_zeros(N, len(INPUT_ROWS), H)] + [blocks.new_zeros(N, H, H) for _ in range(1, L)]
        g_out, sse = out.new_zeros(N, H, 1), out.new_zeros(N)
        o_row, o_col = out.unsqueeze(1), out.unsqueeze(-1)
        chunk = max(MIN_CHUNK, CHUNK // (N * H))
        for s in range(0, P, chunk):
            hs = [xt[..., s : s + chunk]]
            for w in w_in:
                hs.append(phi(torch.bmm(w, hs[-1])))
            o = torch.bmm(o_row, hs[-1])  # (N, 1, p)
            target = y[:, None, s : s + chunk]
            if sigmoid_out:
                yhat = o.sigmoid_()
                d = yhat - target
                g = d * yhat * (1 - yhat)
            else:
                d = g = o.sub_(target)
            sse += d.square().sum((1, 2))
            g_out.baddbmm_(hs[-1], g.transpose(1, 2))
            g = torch.bmm(o_col, g)  # d/dh_L, (N, H, p)
            for l in range(L - 1, -1, -1):
                g = dphi(g, hs[l + 1])
                grads[l].baddbmm_(hs[l], g.transpose(1, 2))
                if l:
                    g = torch.bmm(w_back[l], g)
        g_blocks = torch.zeros_like(blocks)
        g_blocks[:, 0, list(INPUT_ROWS)] = grads[0]
        for l in range(1, L):
            g_blocks[:, l] = grads[l]
        ctx.save_for_backward(g_blocks * (2.0 / P), g_out.squeeze(-1) * (2.0 / P))
        return sse / P

    @staticmethod
    def backward(ctx, g):
        g_blocks, g_out = ctx.saved_tensors
        return g_blocks * g[:, None, None, None], g_out * g[:, None], None, None, None


# ---------------------------------------------------------------- data of a batch of triples
@dataclass
class TripleData:
    """The splits of each triple's dataset, gathered per triple (triple ``i`` uses dataset ``i // R``)."""

    xt: dict[str, torch.Tensor]  # split -> (n, 3, P) inputs, points last (training kernel)
    x: dict[str, torch.Tensor]  # split -> (n, P, 3) (swao.forward.forward)
    y: dict[str, torch.Tensor]  # split -> (n, P)

    @classmethod
    def build(cls, datasets: list[dict], restarts: int, device, dtype=torch.float32) -> "TripleData":
        if not datasets:
            raise ValueError("datasets must not be empty")
        xt, x, y = {}, {}, {}
        for split in ("train", "valid", "test"):
            sizes = {d[f"x_{split}"].shape[0] for d in datasets}
            if len(sizes) != 1:
                raise ValueError(f"all datasets of one search must have the same {split} size, got {sorted(sizes)}")
            xs = torch.stack([d[f"x_{split}"] for d in datasets]).to(device, dtype)
            ys = torch.stack([d[f"y_{split}"] for d in datasets]).to(device, dtype)
            x[split] = xs.repeat_interleave(restarts, 0)
            xt[split] = x[split].transpose(1, 2).contiguous()
            y[split] = ys.repeat_interleave(restarts, 0)
        return cls(xt, x, y)


# ---------------------------------------------------------------- the shared optimisation loop
def objective(raw: torch.Tensor, t: torch.Tensor, xt: torch.Tensor, y: torch.Tensor, activation: str,
              sparse: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mse, penalty)``, each ``(n,)``, of masked matrices ``raw (n, H, 8L+1)`` with thresholds
    ``t (n,)``: eq. 4's MSE of the switched MLPs (eq. 5) and eq. 6's penalty (without
    ``lambda``) on the weights before the switch. ``sparse=False``: the MSE of the matrices as
    they are, penalty 0."""
    if not sparse:
        mse = mlp_mse(raw, xt, y, activation)
        return mse, torch.zeros_like(mse)
    return mlp_mse(switched(raw, t), xt, y, activation), sparsity_penalty(weights_and_masks(raw)[0], t)


@contextmanager
def _depth_workers(workers: int, device: torch.device):
    """``run(fn, items) -> [fn(item) ...]``: serial, or on ``workers`` threads with the intra-op
    threads shared out among them (independent depths in parallel beat intra-op parallelism of
    small ops on CPU); the thread count is restored afterwards."""
    if workers <= 1 or device.type != "cpu":
        yield lambda fn, items: [fn(i) for i in items]
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    try:
        with ThreadPoolExecutor(workers) as pool:
            yield lambda fn, items: list(pool.map(fn, items))
    finally:
        torch.set_num_threads(before)


def optimise(
    matrix_fn: Callable[[int], torch.Tensor],
    leaves: list[torch.Tensor],
    lr: float,
    data: TripleData,
    activation: str,
    steps: int,
    *,
    sparse: bool = True,
    eval_every: int | None = None,
    progress: Callable[[int, torch.Tensor], None] | None = None,
    workers: int | None = None,
) -> dict:
    """Adam for ``steps`` steps; one loop serves the search and the baselines.

    ``matrix_fn(i)`` returns the masked matrices ``(n, H, 8L+1)`` of the ``n`` triples of depth
    index ``i``, differentiable in ``leaves[i]`` only (Adam, learning rate ``lr``).
    ``sparse=True``: the objective of eq. 4-6 with a learnable threshold ``t`` per triple and
    ``lambda`` = its first-step MSE / 7000; ``sparse=False``: plain MSE. Every ``eval_every``
    steps (and after the last) the exported MLPs are scored on the validation set and the best
    state of each triple is kept. The depths are independent: with ``workers > 1`` (default: the
    CPU threads, at most one per depth) they run on parallel threads. Returns tensors whose first
    dim is the depth index.
    """
    nd = len(leaves)
    with torch.no_grad():
        first = [matrix_fn(i) for i in range(nd)]
    n, dev, dtype = first[0].shape[0], first[0].device, first[0].dtype
    ts = [torch.zeros(n, device=dev, dtype=dtype, requires_grad=sparse) for _ in range(nd)]
    opt = torch.optim.Adam([{"params": leaves, "lr": lr}] + ([{"params": ts, "lr": T_LR}] if sparse else []))
    eval_every = eval_every or max(1, steps // 200)
    workers = min(nd, torch.get_num_threads()) if workers is None else workers
    order = sorted(range(nd), key=lambda i: -first[i].shape[-1])  # deepest (slowest) first
    lam: list[torch.Tensor] = [torch.zeros(n, device=dev, dtype=dtype)] * nd
    best_val = torch.full((nd, n), math.inf, device=dev, dtype=dtype)
    best_step = torch.zeros(nd, n, dtype=torch.long, device=dev)
    best_t = torch.zeros(nd, n, device=dev, dtype=dtype)
    best = [m.detach().clone() for m in first]
    log: dict[str, list] = {k: [] for k in ("step", "loss", "mse", "nonzeros", "t", "val_loss")}
    frame_steps = {round(steps * k / (N_FRAMES - 1)) for k in range(N_FRAMES)}
    frames: list[tuple[int, list[torch.Tensor]]] = []  # exported MLPs along the way (for plots)

    def one_depth(i: int, step: int) -> tuple[torch.Tensor, ...]:
        train = step < steps
        with torch.set_grad_enabled(train):
            raw = matrix_fn(i)
            mse, pen = objective(raw, ts[i], data.xt["train"], data.y["train"], activation, sparse)
            if step == 0 and sparse:
                lam[i] = mse.detach() / LAMBDA_DIVISOR
            loss = mse + lam[i] * pen
            if train:
                loss.sum().backward(inputs=[leaves[i]] + ([ts[i]] if sparse else []))
        return raw.detach(), mse.detach(), pen.detach(), loss.detach()

    with _depth_workers(workers, dev) as run:
        for step in range(steps + 1):
            opt.zero_grad(set_to_none=True)
            done = dict(zip(order, run(lambda i: one_depth(i, step), order)))
            raws, mse, pen, loss = (list(x) for x in zip(*(done[i] for i in range(nd))))
            mse, pen, loss = torch.stack(mse), torch.stack(pen), torch.stack(loss)
            if step % eval_every == 0 or step == steps:
                with torch.no_grad():
                    td = torch.stack([t.detach() for t in ts])
                    lam_all = torch.stack(lam)
                    exported = [export_matrix(r, td[i]) if sparse else r for i, r in enumerate(raws)]
                    val = torch.stack([mlp_mse(e, data.xt["valid"], data.y["valid"], activation) for e in exported]) + lam_all * pen
                    better = (val < best_val) | (step == 0)
                    for i, e in enumerate(exported):
                        best[i] = torch.where(better[i, :, None, None], e, best[i])
                    best_val = torch.where(better, val, best_val)
                    best_step = torch.where(better, step, best_step)
                    best_t = torch.where(better, td, best_t)
                    nz = torch.stack([nonzero_count(e.nan_to_num(0.0, 0.0, 0.0)) for e in exported])
                    for k, v in zip(log, (step, loss, mse, nz, td, val)):
                        log[k].append(v if k == "step" else v.float().cpu())
            if step in frame_steps:
                with torch.no_grad():
                    frames.append((step, [(export_matrix(r, ts[i].detach()) if sparse else r).float().cpu()
                                          for i, r in enumerate(raws)]))
            if progress is not None:
                progress(step, loss)
            if step == steps:
                break
            opt.step()
            if sparse:
                with torch.no_grad():
                    for t in ts:
                        t.clamp_(0.0, T_MAX)
    trajectory = {k: torch.stack(v, dim=-1) for k, v in log.items() if k != "step"}
    trajectory["step"] = torch.tensor(log["step"])
    return {"matrices": best, "val_loss": best_val, "best_step": best_step, "threshold": best_t,
            "lam": torch.stack(lam), "trajectory": trajectory, "frames": frames}


# ---------------------------------------------------------------- results
@dataclass
class Result:
    """Outcome of a batched search (or baseline): per depth ``j``, dataset ``d``, restart ``r``.

    Tensors are indexed ``[depth index, dataset, restart]``; ``matrices[i]`` is
    ``(D, R, H, 8L+1)`` for ``depths[i]`` -- the exported MLPs (best validation state).
    """

    activation: str
    depths: tuple[int, ...]
    matrices: list[torch.Tensor]
    test_mpe: torch.Tensor
    nonzeros: torch.Tensor
    test_pred: list[torch.Tensor]  # (D, R, P_test) per depth: predictions of the exported MLPs
    val_loss: torch.Tensor
    best_step: torch.Tensor
    threshold: torch.Tensor
    lam: torch.Tensor
    trajectory: dict[str, torch.Tensor]  # "step" (K,), others (depths, D, R, K)
    seconds: float
    frames: list = field(default_factory=list)  # [(step, [exported (D*R, H, 8L+1) per depth])]

    def best_restart(self) -> torch.Tensor:
        """``(depths, D)``: the restart with the lowest validation loss (never chosen on test)."""
        return torch.nan_to_num(self.val_loss, nan=math.inf).argmin(-1)

    def matrix(self, dataset: int, depth: int, restart: int | None = None) -> torch.Tensor:
        i = self.depths.index(depth)
        r = int(self.best_restart()[i, dataset]) if restart is None else restart
        return self.matrices[i][dataset, r]

    def sequential(self, dataset: int, depth: int, restart: int | None = None) -> nn.Sequential:
        """The exported MLP as a plain ``nn.Sequential`` (default: the best restart)."""
        return to_sequential(self.matrix(dataset, depth, restart).cpu(), self.activation)

    def summary(self, names: list[str] | None = None) -> dict:
        """JSON-ready: ``{dataset name: {"D1": cell, ...}}``, cell = best-restart MPE and
        non-zeros, mean/std over restarts, the exported matrix, and every restart's trajectory."""
        D, R = self.test_mpe.shape[1:]
        names = names or [str(d) for d in range(D)]
        best = self.best_restart()
        steps = [int(s) for s in self.trajectory["step"]]
        out: dict = {}
        for d, name in enumerate(names):
            out[name] = {}
            for i, L in enumerate(self.depths):
                r = int(best[i, d])
                m, nz = self.test_mpe[i, d].double(), self.nonzeros[i, d].double()
                out[name][f"D{L}"] = {
                    "mpe": _num(m[r]), "nonzeros": int(nz[r]), "best_restart": r,
                    "mpe_mean": _num(m.mean()), "mpe_std": _num(m.std()) if R > 1 else 0.0,
                    "nonzeros_mean": _num(nz.mean()), "nonzeros_std": _num(nz.std()) if R > 1 else 0.0,
                    "mpe_all": [_num(v) for v in m], "nonzeros_all": [int(v) for v in nz],
                    "val_loss": _num(self.val_loss[i, d, r]), "val_loss_all": [_num(v) for v in self.val_loss[i, d]],
                    "threshold": _num(self.threshold[i, d, r]), "best_step": int(self.best_step[i, d, r]),
                    "matrix": self.matrices[i][d, r].cpu().tolist(),
                    "frames": {"step": [st for st, _ in self.frames],
                               "matrices": [f[i].reshape(D, R, *f[i].shape[1:])[d, r].tolist() for _, f in self.frames]},
                    "trajectories": [
                        {"step": steps, **{k: [_num(v) for v in self.trajectory[k][i, d, q]] for k in ("loss", "mse", "nonzeros", "t", "val_loss")}}
                        for q in range(R)
                    ],
                }
        return out


def _num(v) -> float | None:
    """A plain float for JSON; NaN / Inf -> None."""
    v = float(v)
    return v if math.isfinite(v) else None


def finish(out: dict, data: TripleData, activation: str, depths: tuple[int, ...], D: int, R: int, seconds: float) -> Result:
    """Score the exported best MLPs on the test set: MPE (eq. 7) and non-zeros, on exactly them."""
    nd = len(depths)
    with torch.no_grad():
        ok = [m.isfinite().flatten(1).all(1) for m in out["matrices"]]  # a diverged triple: NaN MPE
        mats = [torch.where(f[:, None, None], m, 0.0) for f, m in zip(ok, out["matrices"])]
        preds = [forward(m, data.x["test"], activation) for m in mats]
        test_mpe = torch.stack([torch.where(f, mpe(p, data.y["test"]), math.nan) for f, p in zip(ok, preds)])
        nz = torch.stack([nonzero_count(m) for m in mats])
    out["matrices"] = mats
    shape = lambda v: v.reshape(nd, D, R, *v.shape[2:]).cpu()  # noqa: E731
    return Result(
        activation, tuple(depths),
        matrices=[m.reshape(D, R, *m.shape[1:]).cpu() for m in out["matrices"]],
        test_mpe=shape(test_mpe), nonzeros=shape(nz), test_pred=[p.reshape(D, R, -1).cpu() for p in preds],
        val_loss=shape(out["val_loss"]), best_step=shape(out["best_step"]), threshold=shape(out["threshold"]),
        lam=shape(out["lam"]), trajectory={k: (v if k == "step" else shape(v)) for k, v in out["trajectory"].items()},
        seconds=seconds, frames=out.get("frames", []),
    )


def _progress(progress, label: str, steps: int) -> Callable[[int, torch.Tensor], None] | None:
    """``progress``: False/None (silent), True or a label (print every 10 %), or a callable
    ``(step, loss)`` called after every step's forward pass."""
    if callable(progress):
        return progress
    return _printer(progress if isinstance(progress, str) else label, steps) if progress else None


def _printer(label: str, steps: int) -> Callable[[int, torch.Tensor], None]:
    start, marks = time.perf_counter(), {round(steps * k / 10) for k in range(11)}

    def show(step: int, loss: torch.Tensor) -> None:
        if step in marks:
            print(f"  {label}: step {step}/{steps}, mean loss {float(loss.mean()):.4g}, {time.perf_counter() - start:.0f} s", flush=True)

    return show


# ---------------------------------------------------------------- the search
def search(
    decoder,
    datasets: list[dict],
    activation: str,
    steps: int,
    restarts: int = 1,
    depths: tuple[int, ...] = DEPTHS,
    seed: int = 0,
    z0: torch.Tensor | None = None,
    eval_every: int | None = None,
    progress=False,
    workers: int | None = None,
) -> Result:
    """The search of Section 3.2 for every (dataset, decoder, restart) triple at once (eq. 4-6).

    ``decoder``: a :class:`swao.model.MultiScaleAutoencoder` or anything with
    ``decode_depth(z, j)`` (or a callable ``(z, j)``) returning masked matrices ``(N, H, 8j+1)``;
    its parameters stay fixed (only ``z`` and ``t`` get gradients). ``datasets``: dicts with
    ``x_train, y_train, x_valid, ..., y_test`` (as :func:`swao.generation.target_dataset`).
    ``z0 (len(depths), D, R, 128)`` overrides the random start ``U[0, 1)`` drawn from ``seed``.
    ``workers``: threads over the decoders (see :func:`optimise`); the result does not depend on it.
    """
    check_activation(activation)
    for j in depths:
        check_depth(j)
    decode = getattr(decoder, "decode_depth", decoder)
    dev, dtype = torch.as_tensor(datasets[0]["x_train"]).device, torch.float32
    if isinstance(decoder, nn.Module):
        decoder.eval()
        dev, dtype = next(decoder.parameters()).device, next(decoder.parameters()).dtype
    D, R, nd = len(datasets), restarts, len(depths)
    if z0 is None:
        z0 = torch.rand(nd, D, R, EMBED_DIM, generator=torch.Generator().manual_seed(seed))
    if z0.shape[:3] != (nd, D, R):
        raise ValueError(f"z0 must have shape ({nd}, {D}, {R}, dim), got {tuple(z0.shape)}")
    zs = [z.reshape(D * R, -1).to(dev, dtype).clone().requires_grad_(True) for z in z0]  # one leaf per decoder
    data = TripleData.build(datasets, R, dev, dtype)
    show = _progress(progress, "search", steps)
    start = time.perf_counter()
    out = optimise(lambda i: decode(zs[i], depths[i]), zs, Z_LR, data, activation, steps,
                   eval_every=eval_every, progress=show, workers=workers)
    return finish(out, data, activation, depths, D, R, time.perf_counter() - start)


# ---------------------------------------------------------------- datasets: Table 2 and CSV
def dataset_seed(activation: str, depth: int, seed: int) -> int:
    """Seed of the target MLP behind the ``depth``-hidden-layer dataset of one MLP type."""
    return 1000 * seed + 10 * ACTIVATIONS.index(check_activation(activation)) + depth


def table2_datasets(activation: str, n_points: int, seed: int = 0) -> dict[str, dict]:
    """The 3 search datasets of one MLP type (Section 4.2): ``{"2hl": ..., "3hl": ..., "4hl": ...}``."""
    return {name: target_dataset(L, activation, dataset_seed(activation, L, seed), n_points) for name, L in DATASETS.items()}


def load_csv(path: str | Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """A user dataset: 3 input columns and 1 output column, header optional.

    Rows are shuffled (seed) and split train/valid/test 5:3:2 like the generated datasets.
    Raises ``ValueError`` naming the row (1-based, as in an editor) for a wrong column count,
    a non-number, NaN/Inf, and for fewer than 10 rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    rows: list[list[float]] = []
    seen_line = False
    with path.open(newline="") as f:
        for i, fields in enumerate(csv.reader(f), start=1):
            if not fields or all(not s.strip() for s in fields):
                continue
            header_allowed, seen_line = not seen_line, True
            if len(fields) != 4:
                raise ValueError(f"{path}, row {i}: expected 4 columns (3 inputs, 1 output), got {len(fields)}")
            values, bad = [], []
            for c, s in enumerate(fields, start=1):
                try:
                    values.append(float(s))
                except ValueError:
                    bad.append((c, s.strip()))
            if bad:
                if header_allowed and len(bad) == 4:
                    continue  # the header line
                raise ValueError(f"{path}, row {i}, column {bad[0][0]}: {bad[0][1]!r} is not a number")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{path}, row {i}: NaN or Inf is not allowed")
            rows.append(values)
    if len(rows) < MIN_CSV_ROWS:
        raise ValueError(f"{path}: too few rows: {len(rows)} data rows, need at least {MIN_CSV_ROWS} for the 5:3:2 split")
    data = torch.tensor(rows, dtype=torch.float32)
    data = data[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))]
    n_train, n_valid = int(len(rows) * SPLIT[0]), int(len(rows) * SPLIT[1])
    parts = {"train": slice(0, n_train), "valid": slice(n_train, n_train + n_valid), "test": slice(n_train + n_valid, None)}
    return {k: v for name, sl in parts.items() for k, v in ((f"x_{name}", data[sl, :3]), (f"y_{name}", data[sl, 3]))}


# ---------------------------------------------------------------- Table 2, beside the baselines
TYPE_NAMES = {act: name.removesuffix("-based") for act, name in tables.TYPE_NAMES.items()}  # short, for text tables
METHODS = {"search": "search", "direct": "direct sparse", "pruned": "dense+prune"}


def run_search(
    autoencoders: dict, datasets: dict[str, dict[str, dict]], config: Config, device="cpu", seed: int = 0,
    progress: bool = True, baselines: bool = True, eval_every: int | None = None,
) -> dict:
    """Search (and the baselines) for ``datasets[activation][name]`` with ``autoencoders[activation]``.

    Returns plain, JSON-ready data: ``results["types"][activation][method][dataset]["D<j>"]`` with
    method in ``search``, ``direct``, ``pruned`` (see :meth:`Result.summary` for a cell).
    """
    from .baselines import dense_then_prune, direct_sparse

    device = resolve_device(device)
    steps, R = config.search_steps, config.restarts
    results: dict = {"config": config.to_dict(), "seed": seed, "device": str(device), "steps": steps,
                     "restarts": R, "baselines": baselines, "types": {}}
    for act, model in autoencoders.items():
        names = list(datasets[act])
        data = [datasets[act][k] for k in names]
        say = (lambda m: f"{act} {m}") if progress else (lambda m: False)
        if progress:
            print(f"{TYPE_NAMES[act]}: {len(names)} dataset(s) x 4 decoders x {R} restart(s), {steps} steps", flush=True)
        s = search(model.to(device), data, act, steps, R, seed=seed, eval_every=eval_every, progress=say("search"))
        entry = {"search": s.summary(names), "seconds": {"search": s.seconds}}
        if baselines:
            a = direct_sparse(data, act, steps, R, seed=seed + 1, eval_every=eval_every, device=device, progress=say("direct sparse"))
            targets = s.nonzeros.gather(-1, s.best_restart()[..., None]).squeeze(-1)
            b = dense_then_prune(data, act, steps, targets, R, seed=seed + 2, eval_every=eval_every, device=device,
                                 progress=say("dense+prune"))
            entry.update(direct=a.summary(names), pruned=b.summary(names))
            entry["seconds"].update(direct=a.seconds, pruned=b.seconds)
        results["types"][act] = entry
    return results


def run_table2(autoencoders: dict, config: Config, device="cpu", seed: int = 0, progress: bool = True,
               baselines: bool = True) -> dict:
    """Table 2 (Section 4.2) with both baselines: the 3 datasets of each MLP type in
    ``autoencoders`` (``{activation: model}``), ``config.search_points`` points each,
    ``config.search_steps`` steps, ``config.restarts`` restarts. Plain data (JSON-ready)."""
    datasets = {act: table2_datasets(act, config.search_points, seed) for act in autoencoders}
    return run_search(autoencoders, datasets, config, device, seed, progress, baselines)


def table2_grid(results: dict, method: str = "search", key: str = "mpe") -> dict[str, list[list]]:
    """``{activation: [[value per dataset] per decoder D1..D4]}`` (the layout of ``swao.tables.table2``)."""
    grid = {}
    for act, entry in results["types"].items():
        cells = entry[method]
        decs = list(next(iter(cells.values())))
        grid[act] = [[cells[ds][d][key] for ds in cells] for d in decs]
    return grid


def _dataset_title(name: str) -> str:
    L = DATASETS.get(name)
    return f"{L} HL ({TARGET_NONZEROS[L]})" if L else name


def _cell(c: dict | None, spread: bool = False) -> str:
    if c is None:
        return "-"
    f = lambda v, d=3: "nan" if v is None else (f"{v:.{d}g}" if v < 100 else f"{v:.0f}")  # noqa: E731
    if spread:
        return f"{f(c['mpe_mean'])}±{f(c['mpe_std'], 2)} ({c['nonzeros_mean']:.0f}±{c['nonzeros_std']:.0f})"
    return f"{f(c['mpe'])} ({c['nonzeros']})"


def format_table2(results: dict) -> str:
    """Table 2's layout, ``MPE (non-zeros)`` per MLP type x decoder x dataset, each dataset
    with the search beside the two baselines; then the spread over restarts (mean ± std)."""
    methods = [m for m in METHODS if all(m in e for e in results["types"].values())]
    R = results["restarts"]
    lines = [
        f"Table 2 (ours): test MPE % (non-zeros), best of {R} restart(s) by validation loss; "
        f"{results['steps']} steps, {results['config']['search_points']} points",
        "search = embedding search (eq. 4-6); direct sparse = same objective on the weights of width-7 MLPs;",
        "dense+prune = dense training, magnitude pruning to the search's count, fine-tuning.",
    ]
    for spread in (False, True):
        if spread:
            lines += ["", f"Spread over the {R} restarts: MPE mean±std (non-zeros mean±std)"]
        w = 20 if spread else 12
        for act, entry in results["types"].items():
            names = list(entry["search"])
            head = f"{'MLP type':<11}{'dec':<4}" + "".join(f"| {_dataset_title(n):<{(w + 1) * len(methods) - 1}}" for n in names)
            sub = " " * 15 + "".join("| " + " ".join(f"{METHODS[m]:<{w}}" for m in methods) for _ in names)
            lines += ["", head, sub]
            for k, dec in enumerate(entry["search"][names[0]]):
                row = f"{TYPE_NAMES.get(act, act) if k == 0 else '':<11}{dec:<4}"
                for n in names:
                    row += "| " + " ".join(f"{_cell(entry[m][n].get(dec), spread):<{w}}" for m in methods)
                lines.append(row)
    return "\n".join(lines)


# ---------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swao search",
        description="Search MLPs in the embedding space (Section 3.2, eq. 4-6), batched over datasets, "
        "decoders D1..D4 and restarts; optionally beside two baselines (direct sparse training, dense+prune).",
        epilog="Table 2 at small scale: swao search --dataset all --autoencoder-dir runs --scale small --baselines",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, help="MLP type (default: from the checkpoint, or all 3)")
    p.add_argument("--dataset", default="all", help="2hl, 3hl, 4hl, all (the Table 2 datasets) or PATH.csv "
                   "(3 input columns, 1 output column, header optional)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--autoencoder", action="append", metavar="CKPT",
                     help="a trained autoencoder (its MLP type is read from it); repeat for several types")
    src.add_argument("--autoencoder-dir", metavar="DIR", help="use DIR/ae-<activation>-min-<scale> for each MLP type")
    src.add_argument("--untrained", action="store_true",
                     help="freshly initialised autoencoders (a demonstration of the pipeline, not of the method)")
    p.add_argument("--scale", default="small", help="smoke, small or paper: points, steps, restarts (default small)")
    p.add_argument("--steps", type=int, help="search steps (default: the scale's)")
    p.add_argument("--restarts", type=int, help="restarts per (dataset, decoder) (default: the scale's)")
    p.add_argument("--points", type=int, help="points per generated dataset before the 5:3:2 split (default: the scale's)")
    p.add_argument("--eval-every", type=int, help="steps between validation checks (default: steps/200)")
    p.add_argument("--baselines", action="store_true", help="also run direct sparse training and dense+prune")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's; 1 is faster on a busy machine)")
    p.add_argument("--out", metavar="DIR", help="write results.json, table2.txt and the MLPs (nn.Sequential, .pt) here")
    return p


def _load_autoencoders(args, activations: list[str], device) -> dict:
    from .model import MultiScaleAutoencoder

    if args.untrained:
        torch.manual_seed(args.seed)
        return {a: MultiScaleAutoencoder().to(device) for a in activations}
    if args.autoencoder_dir:
        root = Path(args.autoencoder_dir)
        paths = {a: root / f"ae-{a}-min-{args.scale}" for a in activations}
        for a, path in paths.items():
            if not path.exists():
                have = sorted(q.name for q in root.iterdir()) if root.is_dir() else []
                raise ValueError(f"no autoencoder for {a!r}: {path} does not exist (found: {have or 'nothing'}); "
                                 f"train one with 'swao train --activation {a} --scale {args.scale}' or pass --autoencoder")
        from .train import load_autoencoder

        return {a: load_autoencoder(str(path), device=device)[0] for a, path in paths.items()}
    from .train import load_autoencoder

    models = {}
    for path in args.autoencoder:
        model, meta = load_autoencoder(path, device=device)
        a = meta["activation"]
        if args.activation and a != args.activation:
            raise ValueError(f"{path} is a {a!r} autoencoder, but --activation {args.activation} was given")
        if a in models:
            raise ValueError(f"two autoencoders for {a!r}; give one per MLP type")
        models[a] = model
    return models


def cli_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        overrides = {k: v for k, v in (("search_steps", args.steps), ("restarts", args.restarts),
                                         ("search_points", args.points), ("seed", args.seed)) if v is not None}
        config = get_config(args.scale, **overrides)
        device = resolve_device(args.device)
        activations = [args.activation] if args.activation else list(ACTIVATIONS)
        models = _load_autoencoders(args, activations, device)
        if args.dataset == "all" or args.dataset in DATASETS:
            names = list(DATASETS) if args.dataset == "all" else [args.dataset]
            datasets = {a: {k: v for k, v in table2_datasets(a, config.search_points, args.seed).items() if k in names} for a in models}
        elif args.dataset.lower().endswith(".csv"):
            data = load_csv(args.dataset, args.seed)
            datasets = {a: {Path(args.dataset).stem: data} for a in models}
        else:
            raise ValueError(f"--dataset must be 2hl, 3hl, 4hl, all or a .csv file, got {args.dataset!r}")
    except ValueError as e:
        print(f"swao search: error: {e}", file=sys.stderr)
        return 2
    if args.untrained:
        print("NOTE: freshly initialised (untrained) autoencoders: this demonstrates the pipeline, not the method.")
    results = run_search(models, datasets, config, device, args.seed, progress=True, baselines=args.baselines,
                         eval_every=args.eval_every)
    results["autoencoders"] = "untrained" if args.untrained else (args.autoencoder_dir or args.autoencoder)
    table = format_table2(results)
    print(table)
    if args.out:
        out = Path(args.out)
        (out / "mlps").mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results))
        (out / "table2.txt").write_text(table + "\n")
        for act, entry in results["types"].items():
            for method in METHODS:
                for ds, cells in entry.get(method, {}).items():
                    for dec, c in cells.items():
                        seq = to_sequential(torch.tensor(c["matrix"]), act)
                        torch.save(seq, out / "mlps" / f"{act}-{ds}-{dec}-{method}.pt")
        print(f"wrote {out}/results.json, table2.txt and mlps/*.pt (torch.load(..., weights_only=False))")
    return 0


__all__ = [
    "search", "optimise", "Result", "TripleData", "soft_switch", "sparsity_penalty", "switched", "export_matrix",
    "weights_and_masks", "mlp_predict", "mlp_mse", "table2_datasets", "dataset_seed", "load_csv", "run_search",
    "run_table2", "format_table2", "table2_grid", "cli_main",
]
