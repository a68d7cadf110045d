"""The optimisation loop shared by the search (eq. 4-6) and the baselines, batched over
(dataset, depth, restart) triples.

Many independent searches -- every (dataset, decoder, restart) triple -- run as ONE optimisation:
per depth, the leaves (the search's ``z``, a baseline's weights) are one tensor over the triples,
``t`` and ``lambda`` are per triple, the loss is the sum of the per-triple losses and one Adam
updates everything. Adam is elementwise, so this is exactly the same as separate runs (tested).
The only Python loop of a step is over the depths, which are independent and run on parallel
threads on a multi-core CPU.

* ``lambda = (first-step MSE) / 7000``, fixed per triple; ``t`` (Adam, lr 0.01, from 0) is
  clamped to ``[0, 3]`` after each step (and, with ``keep_layers``, held below every layer's
  largest weight: ours).
* Reported per triple: the state with the best *validation* loss (the same objective on the
  validation set, checked every ``eval_every`` steps) as an exported MLP
  (:func:`swao.method.sparsity.export_matrix`), with its test MPE (eq. 7) and non-zero count, both
  measured on exactly that exported matrix (:class:`Result`).

Our choices (the paper does not say): the best state is chosen by validation loss (the authors'
code keeps the last one); ``lambda`` is per search (the authors' code sets it once, from the first
decoder's first step, and reuses it for the other decoders).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from swao.method.forward import forward
from swao.method.metrics import is_near_constant, mpe
from swao.method.representation import dead_layer, nonzero_count, to_sequential
from swao.method.fused_mse import mlp_mse
from swao.method.sparsity import export_matrix, layer_floor, sparsity_penalty, switched, weights_and_masks

N_FRAMES = 11  # snapshots of the exported MLPs along a search (the book's explorer)
LAMBDA_DIVISOR = 7000.0  # lambda = first-step MSE / 7000
T_MAX = 3.0
KEEP_FRACTION = 0.99  # keep_layers: t stays below this share of the weakest layer's largest weight
T_LR = 0.01


# ---------------------------------------------------------------- data of a batch of triples
@dataclass
class TripleData:
    """The splits of each triple's dataset, gathered per triple (triple ``i`` uses dataset ``i // R``)."""

    xt: dict[str, torch.Tensor]  # split -> (n, 3, P) inputs, points last (training kernel)
    x: dict[str, torch.Tensor]  # split -> (n, P, 3) (swao.method.forward.forward)
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


@dataclass(frozen=True)
class Problem:
    """What one batched optimisation minimises, and over what.

    ``matrix_fn(i)`` returns the masked matrices ``(n, H, 8L+1)`` of the ``n`` triples of depth
    index ``i``, differentiable in ``leaves[i]`` only (Adam, learning rate ``lr``).
    ``sparse=True``: the objective of eq. 4-6 (:func:`objective`, eq. 6 over ``penalty``'s
    weights) with a learnable threshold ``t`` per triple and ``lambda`` = its first-step MSE /
    7000; ``keep_layers`` (ours) holds ``t`` below every layer's largest weight. ``sparse=False``:
    plain MSE, plus, with ``penalty_fn`` (depth index -> ``(n,)``, differentiable in the leaves),
    ``lambda x penalty_fn(i)`` with ``lambda`` = first-step MSE x ``penalty_scale (n,)`` (the L0
    baseline). ``export_fn(i)`` gives the matrices the validation scores and the result reports
    (default: ``matrix_fn``'s, switched and cut by ``t`` when ``sparse``)."""

    matrix_fn: Callable[[int], torch.Tensor]
    leaves: list[torch.Tensor]
    lr: float
    sparse: bool = True
    penalty: str = "all"
    keep_layers: bool = False
    penalty_fn: Callable[[int], torch.Tensor] | None = None
    penalty_scale: torch.Tensor | None = None
    export_fn: Callable[[int], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.penalty_fn is not None and (self.sparse or self.penalty_scale is None):
            raise ValueError("penalty_fn needs sparse=False and a penalty_scale (one lambda per first-step MSE per triple)")

    def exported(self, raw: torch.Tensor, t: torch.Tensor, i: int) -> torch.Tensor:
        """The MLPs of depth index ``i`` as they would be reported now."""
        if self.export_fn is not None:
            return self.export_fn(i).detach()
        return export_matrix(raw, t) if self.sparse else raw


@dataclass
class State:
    """Everything an optimisation carries from step to step: per depth index the thresholds
    ``ts`` and ``lambda``s ``lam``, the Adam optimiser, the best validation state of every
    triple so far, the log (kept on the device) and the frames for the explorer."""

    first: list[torch.Tensor]  # the starting matrices, per depth index
    ts: list[torch.Tensor]
    opt: torch.optim.Optimizer
    lam: list[torch.Tensor]
    best: list[torch.Tensor]
    best_val: torch.Tensor  # (depths, n)
    best_step: torch.Tensor
    best_t: torch.Tensor
    log: dict[str, list] = field(default_factory=lambda: {k: [] for k in ("step", "loss", "mse", "nonzeros", "t", "val_loss")})
    frames: list[tuple[int, list[torch.Tensor]]] = field(default_factory=list)

    def result(self) -> dict:
        """The outcome as :func:`finish` reads it (tensors on the device, first dim the depth index)."""
        trajectory = {k: torch.stack(v, dim=-1) for k, v in self.log.items() if k != "step"}
        trajectory["step"] = torch.tensor(self.log["step"])
        return {"matrices": self.best, "val_loss": self.best_val, "best_step": self.best_step, "threshold": self.best_t,
                "lam": torch.stack(self.lam), "trajectory": trajectory, "frames": self.frames,
                "dead_start": torch.stack([dead_layer(m) for m in self.first])}


@dataclass
class Step:
    """One step's forward pass over every depth index: the matrices (detached) and, per depth
    index ``(n,)``, the MSE, the penalty and the loss; :meth:`stacked` gives ``(depths, n)``."""

    raws: list[torch.Tensor]
    mse: list[torch.Tensor]
    pen: list[torch.Tensor]
    loss: list[torch.Tensor]

    def stacked(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.stack(self.mse), torch.stack(self.pen), torch.stack(self.loss)


def start(problem: Problem) -> State:
    """The state before the first step: thresholds 0, ``lambda`` 0 (set at step 0), Adam over
    the leaves (and the thresholds, lr :data:`T_LR`, when ``sparse``), the starting matrices as
    the best so far."""
    with torch.no_grad():
        first = [problem.matrix_fn(i) for i in range(len(problem.leaves))]
    nd, n, dev, dtype = len(first), first[0].shape[0], first[0].device, first[0].dtype
    ts = [torch.zeros(n, device=dev, dtype=dtype, requires_grad=problem.sparse) for _ in range(nd)]
    groups = [{"params": problem.leaves, "lr": problem.lr}] + ([{"params": ts, "lr": T_LR}] if problem.sparse else [])
    return State(first=first, ts=ts, opt=torch.optim.Adam(groups), lam=[torch.zeros(n, device=dev, dtype=dtype)] * nd,
                 best=[m.detach().clone() for m in first], best_val=torch.full((nd, n), math.inf, device=dev, dtype=dtype),
                 best_step=torch.zeros(nd, n, dtype=torch.long, device=dev), best_t=torch.zeros(nd, n, device=dev, dtype=dtype))


def forward_backward(problem: Problem, state: State, data: TripleData, activation: str, i: int, step: int,
                     train: bool) -> tuple[torch.Tensor, ...]:
    """Depth index ``i`` at ``step``: the loss on the training set (eq. 4-6, or the baselines'),
    ``lambda`` fixed at step 0, and, when ``train``, its gradient into the leaf and ``t``."""
    with torch.set_grad_enabled(train):
        raw = problem.matrix_fn(i)
        mse, pen = objective(raw, state.ts[i], data.xt["train"], data.y["train"], activation, problem.sparse, problem.penalty)
        if problem.penalty_fn is not None:
            pen = problem.penalty_fn(i)
        if step == 0 and (problem.sparse or problem.penalty_fn is not None):
            state.lam[i] = mse.detach() / LAMBDA_DIVISOR if problem.sparse else mse.detach() * problem.penalty_scale
        loss = mse + state.lam[i] * pen
        if train:
            loss.sum().backward(inputs=[problem.leaves[i]] + ([state.ts[i]] if problem.sparse else []))
    return raw.detach(), mse.detach(), pen.detach(), loss.detach()


def select(problem: Problem, state: State, data: TripleData, activation: str, step: int, now: Step) -> None:
    """Score the exported MLPs on the validation set (the same objective, same ``lambda``) and
    keep, per triple, the state with the best validation loss; log the step (on the device: no
    sync)."""
    mse, pen, loss = now.stacked()
    with torch.no_grad():
        td = torch.stack([t.detach() for t in state.ts])
        exported = [problem.exported(r, td[i], i) for i, r in enumerate(now.raws)]
        val_mse = torch.stack([mlp_mse(e, data.xt["valid"], data.y["valid"], activation) for e in exported])
        val = val_mse + torch.stack(state.lam) * pen
        better = (val < state.best_val) | (step == 0)
        for i, e in enumerate(exported):
            state.best[i] = torch.where(better[i, :, None, None], e, state.best[i])
        state.best_val = torch.where(better, val, state.best_val)
        state.best_step = torch.where(better, step, state.best_step)
        state.best_t = torch.where(better, td, state.best_t)
        nz = torch.stack([nonzero_count(e.nan_to_num(0.0, 0.0, 0.0)) for e in exported])
        for k, v in zip(state.log, (step, loss, mse, nz, td, val)):
            state.log[k].append(v if k == "step" else v.float())


def clamp_thresholds(problem: Problem, state: State, raws: list[torch.Tensor]) -> None:
    """After Adam's step: ``t`` into ``[0, 3]`` and, with ``keep_layers`` (ours), below
    :data:`KEEP_FRACTION` of every layer's largest weight, so that no layer is cut whole."""
    with torch.no_grad():
        for i, t in enumerate(state.ts):
            t.clamp_(0.0, T_MAX)
            if problem.keep_layers:
                torch.minimum(t, KEEP_FRACTION * layer_floor(raws[i]), out=t)


def optimise(problem: Problem, data: TripleData, activation: str, steps: int, eval_every: int | None = None,
             progress: Callable[[int, torch.Tensor], None] | None = None, workers: int | None = None) -> dict:
    """Adam for ``steps`` steps on ``problem`` (:class:`Problem`); one loop serves the search and
    the baselines. Every ``eval_every`` steps (default ``steps // 200``) and after the last, the
    exported MLPs are scored on the validation set and the best state of each triple is kept
    (:func:`select`). The depths are independent: with ``workers > 1`` (default: the CPU threads,
    at most one per depth) they run on parallel threads (on CPU only). Returns tensors on the
    device, first dim the depth index (:func:`finish` brings them to the CPU).

    On a GPU a step never waits for the device: nothing is read back (``.item()``, ``.cpu()``)
    and no tensor is built from Python data inside the loop, except by ``progress``.
    """
    state = start(problem)
    nd = len(problem.leaves)
    eval_every = eval_every or max(1, steps // 200)
    workers = min(nd, torch.get_num_threads()) if workers is None else workers
    order = sorted(range(nd), key=lambda i: -state.first[i].shape[-1])  # deepest (slowest) first
    frame_steps = {round(steps * k / (N_FRAMES - 1)) for k in range(N_FRAMES)}
    with _depth_workers(workers, state.first[0].device) as run:
        for step in range(steps + 1):
            state.opt.zero_grad(set_to_none=True)
            one = lambda i: forward_backward(problem, state, data, activation, i, step, step < steps)  # noqa: E731
            done = dict(zip(order, run(one, order)))
            now = Step(*(list(x) for x in zip(*(done[i] for i in range(nd)))))
            if step % eval_every == 0 or step == steps:
                select(problem, state, data, activation, step, now)
            if step in frame_steps:
                with torch.no_grad():
                    exported = [problem.exported(r, state.ts[i].detach(), i).float() for i, r in enumerate(now.raws)]
                state.frames.append((step, exported))
            if progress is not None:
                progress(step, torch.stack(now.loss))
            if step == steps:
                break
            state.opt.step()
            if problem.sparse:
                clamp_thresholds(problem, state, now.raws)
    return state.result()


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
    collapsed: torch.Tensor | None = None  # (depths, D, R) bool: the exported MLP computes a near-constant on the test set

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
                    "collapsed": bool(self.collapsed[i, d, r]) if self.collapsed is not None else None,
                    "collapsed_all": [bool(v) for v in self.collapsed[i, d]] if self.collapsed is not None else None,
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
    """Score the exported best MLPs on the test set: MPE (eq. 7) and non-zeros, on exactly them,
    and whether each has collapsed to a near-constant function (:func:`swao.method.metrics.is_near_constant`)."""
    nd = len(depths)
    with torch.no_grad():
        ok = [m.isfinite().flatten(1).all(1) for m in out["matrices"]]  # a diverged triple: NaN MPE
        mats = [torch.where(f[:, None, None], m, 0.0) for f, m in zip(ok, out["matrices"])]
        preds = [forward(m, data.x["test"], activation) for m in mats]
        test_mpe = torch.stack([torch.where(f, mpe(p, data.y["test"]), math.nan) for f, p in zip(ok, preds)])
        nz = torch.stack([nonzero_count(m) for m in mats])
        collapsed = torch.stack([is_near_constant(p, data.y["test"]) for p in preds])
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
        collapsed=shape(collapsed),
    )


__all__ = ["N_FRAMES", "LAMBDA_DIVISOR", "T_MAX", "KEEP_FRACTION", "T_LR", "TripleData", "objective", "Problem", "State",
           "Step", "start", "forward_backward", "select", "clamp_thresholds", "optimise", "Result", "finish"]
