"""Baselines the paper lacks: does the embedding help? (issue 4)

Both train the weights of width-7 MLPs of each depth 1..4 (every neuron active) directly, on the
same datasets, splits and step budget as the search, batched over (dataset, depth, restart)
triples and evaluated like it (:func:`swao.optimise.optimise`, which scores with
:func:`swao.forward.forward`):

* :func:`direct_sparse` -- the search's objective (eq. 4-6: soft switch, penalty, learnable
  threshold, ``lambda`` = first-step MSE / 7000) on the weights themselves, no embedding.
* :func:`dense_then_prune` -- plain MSE training for half the steps, then magnitude pruning to a
  target non-zero count (the searched MLP's; magnitudes relative to each layer's largest, see
  :func:`prune_mask`), then fine-tuning with the mask fixed for the rest.

Our choices: Adam with lr 0.01 on the weights (``t`` keeps the search's 0.01); weights start
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (``nn.Linear``'s default range); the best validation
state is reported, as for the search.
"""
from __future__ import annotations

import time

import torch

from .representation import DEPTHS, H, INPUT_ROWS, apply_masks, check_depth
from .progress import step_reporter
from .optimise import Result, TripleData, finish, optimise

WEIGHT_LR = 0.01
PRUNE_AT = 0.5  # fraction of the steps spent on dense training before pruning


def init_weights(n: int, depth: int, gen: torch.Generator) -> torch.Tensor:
    """Weight parts ``(n, H, 7L+1)`` of ``n`` width-7 MLPs, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
    check_depth(depth)
    fan_in = torch.full((H * depth + 1,), float(H))
    fan_in[:H] = len(INPUT_ROWS)  # the first layer sees the 3 inputs
    return (torch.rand(n, H, H * depth + 1, generator=gen) * 2 - 1) / fan_in.sqrt()


def full_matrix(w: torch.Tensor) -> torch.Tensor:
    """Weight part ``(n, H, 7L+1)`` -> masked matrix ``(n, H, 8L+1)`` with every neuron active."""
    L = (w.shape[-1] - 1) // H
    return apply_masks(torch.cat([w, w.new_ones(*w.shape[:-1], L)], dim=-1))


def _start(datasets, restarts, depths, seed, device):
    for j in depths:
        check_depth(j)
    D, R = len(datasets), restarts
    gen = torch.Generator().manual_seed(seed)
    ws = [init_weights(D * R, j, gen).to(device).requires_grad_(True) for j in depths]
    return D, R, TripleData.build(datasets, R, device), ws


def direct_sparse(
    datasets: list[dict], activation: str, steps: int, restarts: int = 1, depths: tuple[int, ...] = DEPTHS,
    seed: int = 0, lr: float = WEIGHT_LR, eval_every: int | None = None, device="cpu", progress=False,
    workers: int | None = None,
) -> Result:
    """Baseline (a): eq. 4-6 optimised on the weights directly (no embedding)."""
    D, R, data, ws = _start(datasets, restarts, depths, seed, device)
    show = step_reporter(progress, "direct sparse", steps)
    start = time.perf_counter()
    out = optimise(lambda i: full_matrix(ws[i]), ws, lr, data, activation, steps,
                   eval_every=eval_every, progress=show, workers=workers)
    return finish(out, data, activation, tuple(depths), D, R, time.perf_counter() - start)


def prune_mask(matrix: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """0/1 mask ``(n, H, 7L+1)`` keeping ``keep (n,)`` weights of each MLP by magnitude.

    Magnitudes are compared across layers after dividing each layer's by its largest, so every
    layer keeps its largest weight when ``keep >= L + 1`` (plain global magnitude pruning cut
    whole output layers off and left constant MLPs). Zero weights are never kept.
    """
    L = (matrix.shape[-1] - 1) // (H + 1)
    w = matrix[..., : H * L + 1].abs()
    layers = [w[..., l * H : (l + 1) * H] for l in range(L)] + [w[..., H * L :]]
    scale = torch.cat([x.amax(dim=(-2, -1), keepdim=True).expand_as(x) for x in layers], dim=-1)
    score = (w / scale.clamp_min(torch.finfo(w.dtype).tiny)).flatten(1)
    order = score.argsort(dim=1, descending=True, stable=True)
    rank_kept = (torch.arange(score.shape[1], device=w.device) < keep.to(w.device)[:, None]).to(w.dtype)
    return torch.zeros_like(score).scatter(1, order, rank_kept).view_as(w) * (w != 0)


def dense_then_prune(
    datasets: list[dict], activation: str, steps: int, targets: torch.Tensor, restarts: int = 1,
    depths: tuple[int, ...] = DEPTHS, seed: int = 0, lr: float = WEIGHT_LR, eval_every: int | None = None,
    device="cpu", progress=False, workers: int | None = None,
) -> Result:
    """Baseline (b): dense training (MSE only), prune to ``targets (depths, D)`` non-zeros by
    magnitude, fine-tune with the mask fixed; ``steps`` in total, as the search."""
    D, R, data, ws = _start(datasets, restarts, depths, seed, device)
    targets = torch.as_tensor(targets).reshape(len(depths), D)
    label = progress if isinstance(progress, str) else "dense+prune"
    dense_steps = max(1, int(steps * PRUNE_AT))
    start = time.perf_counter()
    phase = lambda name: progress if callable(progress) else (progress and f"{label} ({name})")  # noqa: E731
    show = step_reporter(phase("dense"), label, dense_steps)
    dense = optimise(lambda i: full_matrix(ws[i]), ws, lr, data, activation, dense_steps,
                     sparse=False, eval_every=eval_every, progress=show, workers=workers)
    masks, tuned = [], []
    for i, m in enumerate(dense["matrices"]):
        keep = targets[i].repeat_interleave(R)
        masks.append(prune_mask(m, keep))
        tuned.append((m[..., : masks[-1].shape[-1]] * masks[-1]).clone().requires_grad_(True))
    show = step_reporter(phase("fine-tune"), label, steps - dense_steps)
    out = optimise(lambda i: full_matrix(tuned[i] * masks[i]), tuned, lr, data, activation, steps - dense_steps,
                   sparse=False, eval_every=eval_every, progress=show, workers=workers)
    out["best_step"] = out["best_step"] + dense_steps
    return finish(out, data, activation, tuple(depths), D, R, time.perf_counter() - start)


__all__ = ["direct_sparse", "dense_then_prune", "prune_mask", "init_weights", "full_matrix", "WEIGHT_LR", "PRUNE_AT"]
