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

The Table 2 experiment (Section 4.2) and the ``swao search`` command are in :mod:`swao.table2`.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .activations import check_activation, mlp_type
from .forward import forward, forward_points_last
from .metrics import mpe
from .progress import step_reporter
from .model import EMBED_DIM
from .representation import (
    DEPTHS, H, INPUT_ROWS, INPUT_SLICE, check_depth, dead_layer, depth_of, nonzero_count, split_matrix, to_sequential,
)

SWITCH_SHARPNESS = 100.0  # eq. 5
N_FRAMES = 11  # snapshots of the exported MLPs along a search (the book's explorer)
COUNT_SHARPNESS, COUNT_WEIGHT, L1_WEIGHT = 10.0, 0.5, 0.1  # eq. 6
LAMBDA_DIVISOR = 7000.0  # lambda = first-step MSE / 7000
T_MAX = 3.0
KEEP_FRACTION = 0.99  # keep_layers: t stays below this share of the weakest layer's largest weight
PENALTIES = ("all", "active")  # what eq. 6 sums over (sparsity_penalty)
STARTS = ("uniform", "encoded")  # where the search starts (search)
SEARCH_MASKS = ("hard", "straight_through")  # the decoder's mask estimator during a search
Z_LR, T_LR = 0.1, 0.01


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


def sparsity_penalty(w: torch.Tensor, t: torch.Tensor, penalty: str = "all") -> torch.Tensor:
    """Eq. 6 without ``lambda``: ``sum_w [0.5 sigmoid(10(|w| - t)) + 0.1 |w|]`` per MLP -> ``(...)``.

    ``penalty="all"`` (the paper's sum, as the authors compute it): over every decoded weight,
    the zeros of masked neurons included, whose ``0.5 sigmoid(-10 t)`` terms fall as ``t`` grows
    and so push the threshold up by themselves. ``"active"`` (ours): over the non-zero weights only."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}")
    a = w.abs()
    per_weight = COUNT_WEIGHT * torch.sigmoid(COUNT_SHARPNESS * (a - _per_mlp(t, w))) + L1_WEIGHT * a
    if penalty == "active":
        per_weight = per_weight * (w != 0)
    return per_weight.sum(dim=(-2, -1))


def switched(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The matrix with its weights soft-switched (eq. 5); mask columns unchanged."""
    w, masks = weights_and_masks(matrix)
    return torch.cat([soft_switch(w, t), masks], dim=-1)


def layer_floor(matrix: torch.Tensor) -> torch.Tensor:
    """``(...)``: the smallest, over the layers (the hidden blocks and the output weights), of a
    layer's largest absolute weight: a threshold at or above it cuts a whole layer."""
    blocks, out, _ = split_matrix(matrix)
    return torch.minimum(blocks.abs().flatten(-2).amax(-1).amin(-1), out.abs().amax(-1))


def export_matrix(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The reported MLP: switched weights (eq. 5) with ``|w| <= t`` set to exactly 0."""
    w, masks = weights_and_masks(matrix)
    keep = w.abs() > _per_mlp(t, w)
    return torch.cat([torch.where(keep, soft_switch(w, t), torch.zeros_like(w)), masks], dim=-1)


# ---------------------------------------------------------------- fast batched MLP evaluation
CHUNK = 2**18  # values per (N, H, chunk) tensor of the fused MSE kernel on CPU (1 MiB: stays in cache)
CHUNK_GPU = 2**26  # on a GPU (256 MiB): one pass at the paper's sizes; each chunk costs ~5L+8 kernel launches
MIN_CHUNK = 512  # points


def mlp_mse(matrix: torch.Tensor, xt: torch.Tensor, y: torch.Tensor, activation: str) -> torch.Tensor:
    """Per-MLP mean squared error ``(N,)`` of masked matrices ``(N, H, 8L+1)`` on inputs
    ``xt (N, 3, P)`` (eq. 4): :func:`swao.forward.forward_points_last` without the mask products
    (the decoders' matrices are masked already).

    With gradients on, the fused kernel :class:`FusedMSE` computes the MSE and its gradient in
    one pass over chunks of points (about 1.5x faster than autograd on CPU; same numbers). On a
    GPU the chunks are large (:data:`CHUNK_GPU`): the cost there is kernel launches, not cache.
    """
    check_activation(activation)
    if torch.is_grad_enabled() and matrix.requires_grad:
        blocks, out, _ = split_matrix(matrix)
        return FusedMSE.apply(blocks, out, xt, y, activation)
    return (forward_points_last(matrix, xt, activation, masked=False) - y).square().mean(-1)


class FusedMSE(torch.autograd.Function):
    """``MSE (N,)`` of masked MLPs given as ``blocks (N, L, H, H)``, ``out (N, H)`` on
    ``xt (N, 3, P)``, ``y (N, P)``; the forward pass also computes the gradient (chunk by chunk:
    forward, then backward of the chunk while it is in cache), the backward pass only scales it.
    The masks are not used (as in :func:`mlp_mse`): they get their gradient through
    :func:`swao.representation.apply_masks` only.
    """

    @staticmethod
    def forward(ctx, blocks, out, xt, y, activation):
        N, L, P = blocks.shape[0], blocks.shape[1], xt.shape[-1]
        t = mlp_type(activation)
        phi, dphi, sigmoid_out = t.phi_, t.dphi, t.sigmoid_output
        # INPUT_SLICE, not list(INPUT_ROWS): a list index is a blocking host-to-device copy on CUDA
        w_in = [blocks[:, 0, INPUT_SLICE].transpose(1, 2).contiguous()] + [blocks[:, l].transpose(1, 2).contiguous() for l in range(1, L)]
        w_back = [None] + [blocks[:, l].contiguous() for l in range(1, L)]
        grads = [blocks.new_zeros(N, len(INPUT_ROWS), H)] + [blocks.new_zeros(N, H, H) for _ in range(1, L)]
        g_out, sse = out.new_zeros(N, H, 1), out.new_zeros(N)
        o_row, o_col = out.unsqueeze(1), out.unsqueeze(-1)
        chunk = max(MIN_CHUNK, (CHUNK if xt.device.type == "cpu" else CHUNK_GPU) // (N * H))
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
        g_blocks[:, 0, INPUT_SLICE] = grads[0]
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
              sparse: bool = True, penalty: str = "all") -> tuple[torch.Tensor, torch.Tensor]:
    """``(mse, penalty)``, each ``(n,)``, of masked matrices ``raw (n, H, 8L+1)`` with thresholds
    ``t (n,)``: eq. 4's MSE of the switched MLPs (eq. 5) and eq. 6's penalty (without
    ``lambda``, over ``penalty``'s weights) on the weights before the switch. ``sparse=False``:
    the MSE of the matrices as they are, penalty 0."""
    if not sparse:
        mse = mlp_mse(raw, xt, y, activation)
        return mse, torch.zeros_like(mse)
    return mlp_mse(switched(raw, t), xt, y, activation), sparsity_penalty(weights_and_masks(raw)[0], t, penalty)


@contextmanager
def _depth_workers(workers: int, device: torch.device):
    """``run(fn, items) -> [fn(item) ...]``: serial, or on ``workers`` threads with the intra-op
    threads shared out among them (independent depths in parallel beat intra-op parallelism of
    small ops on CPU); the thread count is restored afterwards. Serial on a GPU: its kernels queue
    asynchronously on one stream, and threads would only contend for the launch path."""
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
    penalty: str = "all",
    keep_layers: bool = False,
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
    CPU threads, at most one per depth) they run on parallel threads (on CPU only). Returns tensors
    on the device, first dim the depth index (:func:`finish` brings them to the CPU).

    On a GPU a step never waits for the device: nothing is read back (``.item()``, ``.cpu()``)
    and no tensor is built from Python data inside the loop, except by ``progress``.
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
            mse, pen = objective(raw, ts[i], data.xt["train"], data.y["train"], activation, sparse, penalty)
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
                    for k, v in zip(log, (step, loss, mse, nz, td, val)):  # kept on the device (no sync)
                        log[k].append(v if k == "step" else v.float())
            if step in frame_steps:
                with torch.no_grad():
                    frames.append((step, [(export_matrix(r, ts[i].detach()) if sparse else r).float()
                                          for i, r in enumerate(raws)]))
            if progress is not None:
                progress(step, loss)
            if step == steps:
                break
            opt.step()
            if sparse:
                with torch.no_grad():
                    for i, t in enumerate(ts):
                        t.clamp_(0.0, T_MAX)
                        if keep_layers:  # ours: below every layer's largest weight, so no layer is cut whole
                            torch.minimum(t, KEEP_FRACTION * layer_floor(raws[i]), out=t)
    trajectory = {k: torch.stack(v, dim=-1) for k, v in log.items() if k != "step"}
    trajectory["step"] = torch.tensor(log["step"])
    return {"matrices": best, "val_loss": best_val, "best_step": best_step, "threshold": best_t,
            "lam": torch.stack(lam), "trajectory": trajectory, "frames": frames,
            "dead_start": torch.stack([dead_layer(m) for m in first])}


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
    dead_start: torch.Tensor | None = None  # (depths, D, R) bool: the start decodes to an MLP with a dead layer
    dead_end: torch.Tensor | None = None  # (depths, D, R) bool: so does the exported MLP

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
                    "dead_start_all": [bool(v) for v in self.dead_start[i, d]] if self.dead_start is not None else None,
                    "dead_end_all": [bool(v) for v in self.dead_end[i, d]] if self.dead_end is not None else None,
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
        seconds=seconds, frames=[(st, [f.cpu() for f in fs]) for st, fs in out.get("frames", [])],
        dead_start=shape(out["dead_start"]), dead_end=shape(torch.stack([dead_layer(m) for m in mats])),
    )


# ---------------------------------------------------------------- the search
def encoded_starts(model: nn.Module, activation: str, depths: tuple[int, ...], n: int, seed: int,
                   pool: int = 1024) -> torch.Tensor:
    """Ours (``start="encoded"``): ``(len(depths), n, 128)`` starting embeddings taken from the
    embeddings of ``pool`` random MLPs of the type (all depths, drawn from ``seed``), for each
    decoder only those whose decoding has no dead layer (in a random order; repeated if fewer
    than ``n`` are alive; the whole pool if none is)."""
    from .generation import generator, random_mlps

    gen = generator(seed)
    dev = next(model.parameters()).device
    with torch.no_grad():
        padded, depth = random_mlps(pool, activation, gen=gen)
        z = model.encode(padded.to(dev), depth.to(dev))
        starts = []
        for j in depths:
            alive = torch.nonzero(~dead_layer(model.decode_depth(z, j))).flatten().cpu()
            idx = alive if len(alive) else torch.arange(pool)
            idx = idx[torch.randperm(len(idx), generator=gen)]
            starts.append(z[idx.repeat(-(-n // len(idx)))[:n].to(dev)])
    return torch.stack(starts)


@contextmanager
def _mask_estimator(decoder, masks: str):
    """The decoder's masks during a search, whatever it was trained with: ``"hard"`` (the paper:
    no gradient reaches ``z`` through the 0/1 masks) or ``"straight_through"`` (ours: the
    sigmoid's gradient). The decoder's own setting comes back after."""
    if masks not in SEARCH_MASKS:
        raise ValueError(f"masks must be one of {SEARCH_MASKS}, got {masks!r}")
    if not hasattr(decoder, "mask_grad"):
        yield
        return
    before, decoder.mask_grad = decoder.mask_grad, ("none" if masks == "hard" else "straight_through")
    try:
        yield
    finally:
        decoder.mask_grad = before


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
    start: str = "uniform",
    masks: str = "hard",
    penalty: str = "all",
    keep_layers: bool = False,
) -> Result:
    """The search of Section 3.2 for every (dataset, decoder, restart) triple at once (eq. 4-6).

    ``decoder``: a :class:`swao.model.MultiScaleAutoencoder` or anything with
    ``decode_depth(z, j)`` (or a callable ``(z, j)``) returning masked matrices ``(N, H, 8j+1)``;
    its parameters stay fixed (only ``z`` and ``t`` get gradients). ``datasets``: dicts with
    ``x_train, y_train, x_valid, ..., y_test`` (as :func:`swao.generation.target_dataset`).
    ``start``: ``"uniform"`` (the paper: ``z ~ U[0, 1)``, drawn from ``seed``) or ``"encoded"``
    (ours, :func:`encoded_starts`: embeddings of random MLPs that decode alive). ``z0 (len(depths),
    D, R, 128)`` overrides either. ``masks``: ``"hard"`` (the paper) or ``"straight_through"``
    (ours). ``penalty``: what eq. 6 sums over (:func:`sparsity_penalty`). ``keep_layers`` (ours):
    after each step the threshold is held below :data:`KEEP_FRACTION` of :func:`layer_floor`, so
    that it never cuts a whole layer (and the exported MLP never becomes a constant).
    ``workers``: threads over the decoders (see :func:`optimise`); the result does not depend on it.
    """
    check_activation(activation)
    for j in depths:
        check_depth(j)
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    decode = getattr(decoder, "decode_depth", decoder)
    dev, dtype = torch.as_tensor(datasets[0]["x_train"]).device, torch.float32
    if isinstance(decoder, nn.Module):
        decoder.eval()
        dev, dtype = next(decoder.parameters()).device, next(decoder.parameters()).dtype
    D, R, nd = len(datasets), restarts, len(depths)
    if z0 is None and start == "encoded":
        if not hasattr(decoder, "encode"):
            raise ValueError("start='encoded' needs an autoencoder (with encode and decode_depth)")
        z0 = encoded_starts(decoder, activation, depths, D * R, seed).reshape(nd, D, R, -1).cpu()
    if z0 is None:
        z0 = torch.rand(nd, D, R, EMBED_DIM, generator=torch.Generator().manual_seed(seed))
    if z0.shape[:3] != (nd, D, R):
        raise ValueError(f"z0 must have shape ({nd}, {D}, {R}, dim), got {tuple(z0.shape)}")
    zs = [z.reshape(D * R, -1).to(dev, dtype).clone().requires_grad_(True) for z in z0]  # one leaf per decoder
    data = TripleData.build(datasets, R, dev, dtype)
    show = step_reporter(progress, "search", steps)
    begin = time.perf_counter()
    with _mask_estimator(decoder, masks):
        out = optimise(lambda i: decode(zs[i], depths[i]), zs, Z_LR, data, activation, steps, penalty=penalty,
                       keep_layers=keep_layers, eval_every=eval_every, progress=show, workers=workers)
    return finish(out, data, activation, depths, D, R, time.perf_counter() - begin)


__all__ = [
    "search", "optimise", "Result", "TripleData", "objective", "finish", "soft_switch", "sparsity_penalty", "switched",
    "export_matrix", "weights_and_masks", "mlp_mse", "FusedMSE", "encoded_starts", "PENALTIES", "STARTS",
    "SEARCH_MASKS",
]
