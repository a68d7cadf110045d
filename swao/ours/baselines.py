"""Baselines the paper lacks: does the embedding help?

All three train the weights of width-7 MLPs of each depth 1..4 (every neuron active) directly, on
the same datasets, splits and step budget as the search, batched over (dataset, depth, restart)
triples and evaluated like it (:func:`swao.method.optimise.optimise`, which scores with
:func:`swao.method.forward.forward`):

* :func:`direct_sparse` -- the search's objective (eq. 4-6: soft switch, penalty, learnable
  threshold, ``lambda`` = first-step MSE / 7000) on the weights themselves, no embedding.
* :func:`dense_then_prune` -- plain MSE training for half the steps, then magnitude pruning to a
  target non-zero count (the searched MLP's; magnitudes relative to each layer's largest, see
  :func:`prune_mask`), then fine-tuning with the mask fixed for the rest.
* :func:`l0_gates` -- the standard way to train sparse networks (Louizos, Welling, Kingma 2018,
  "Learning Sparse Neural Networks through L0 Regularization"): a hard-concrete gate on every
  weight (stretch ``(-0.1, 1.1)``, temperature 2/3; their eq. 9-11), MSE plus a strength times
  the expected number of open gates (their eq. 12), scored with the deterministic test-time
  gate (their eq. 13); swept over :data:`L0_STRENGTHS`.

Our choices: Adam with lr 0.01 on the weights (``t`` keeps the search's 0.01); weights start
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (``nn.Linear``'s default range); the best validation
state is reported, as for the search. For the L0 gates: the gate logits start at
``log(1 - p) - log(p)`` with ``p`` = :data:`L0_INIT_DROP` (Louizos et al.'s initialisation,
without its 0.01 noise) and move at 10x the weights' rate (:data:`L0_LOGIT_SCALE`; at lr 0.01 a
gate would need ~240 steps to close, more than a smoke-scale run has); the strength ``s`` is per unit of the
first-step MSE and per gate, ``lambda = s x MSE_0 / (gates that can be non-zero)``, so ``s = 1``
prices all gates open at the starting error (scale-free, like the search's ``MSE_0 / 7000``).
"""
from __future__ import annotations

import math
import time

import torch

from swao.method.representation import H, INPUT_ROWS, apply_masks, check_depth
from swao.method.progress import step_reporter
from swao.method.optimise import Problem, Result, TripleData, finish, optimise
from swao.method.settings import SearchBudget

WEIGHT_LR = 0.01
PRUNE_AT = 0.5  # fraction of the steps spent on dense training before pruning
L0_STRETCH = (-0.1, 1.1)  # (gamma, zeta) of the hard-concrete distribution (Louizos et al. 2018)
L0_TEMPERATURE = 2 / 3  # beta
L0_INIT_DROP = 0.5  # gate logits start at log(1 - p) - log(p)
L0_STRENGTHS = (0.01, 0.1, 1.0)  # the swept s of lambda = s x MSE_0 / gates
L0_LOGIT_SCALE = 10.0  # ours: log_alpha = 10 x its leaf, so Adam moves it 10x the weights' lr per step


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


def _start(datasets: list[dict], budget: SearchBudget, device):
    """The triples' data and their starting weights, one leaf per depth (drawn from the budget's seed)."""
    if not isinstance(budget, SearchBudget):
        raise TypeError(f"budget must be a SearchBudget, got {type(budget).__name__}")
    gen = torch.Generator().manual_seed(budget.seed)
    ws = [init_weights(len(datasets) * budget.restarts, j, gen).to(device).requires_grad_(True) for j in budget.depths]
    return TripleData.build(datasets, budget.restarts, device), ws


def _finish(out: dict, data: TripleData, activation: str, budget: SearchBudget, D: int, seconds: float) -> Result:
    return finish(out, data, activation, budget.depths, D, budget.restarts, seconds)


def direct_sparse(datasets: list[dict], activation: str, budget: SearchBudget, *, lr: float = WEIGHT_LR, device="cpu",
                  progress=False, workers: int | None = None) -> Result:
    """Baseline (a): eq. 4-6 optimised on the weights directly (no embedding), within ``budget``
    (:class:`swao.method.settings.SearchBudget`, the search's)."""
    data, ws = _start(datasets, budget, device)
    show = step_reporter(progress, "direct sparse", budget.steps)
    start = time.perf_counter()
    problem = Problem(lambda i: full_matrix(ws[i]), ws, lr)
    out = optimise(problem, data, activation, budget.steps, budget.eval_every, show, workers)
    return _finish(out, data, activation, budget, len(datasets), time.perf_counter() - start)


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


def dense_then_prune(datasets: list[dict], activation: str, budget: SearchBudget, targets: torch.Tensor, *,
                     lr: float = WEIGHT_LR, device="cpu", progress=False, workers: int | None = None) -> Result:
    """Baseline (b): dense training (MSE only), prune to ``targets (depths, D)`` non-zeros by
    magnitude, fine-tune with the mask fixed; the budget's steps in total, as the search."""
    data, ws = _start(datasets, budget, device)
    D, R, steps = len(datasets), budget.restarts, budget.steps
    targets = torch.as_tensor(targets).reshape(len(budget.depths), D)
    label = progress if isinstance(progress, str) else "dense+prune"
    dense_steps = max(1, int(steps * PRUNE_AT))
    start = time.perf_counter()
    phase = lambda name: progress if callable(progress) else (progress and f"{label} ({name})")  # noqa: E731
    show = step_reporter(phase("dense"), label, dense_steps)
    dense = optimise(Problem(lambda i: full_matrix(ws[i]), ws, lr, sparse=False), data, activation, dense_steps,
                     budget.eval_every, show, workers)
    masks, tuned = [], []
    for i, m in enumerate(dense["matrices"]):
        keep = targets[i].repeat_interleave(R)
        masks.append(prune_mask(m, keep))
        tuned.append((m[..., : masks[-1].shape[-1]] * masks[-1]).clone().requires_grad_(True))
    show = step_reporter(phase("fine-tune"), label, steps - dense_steps)
    out = optimise(Problem(lambda i: full_matrix(tuned[i] * masks[i]), tuned, lr, sparse=False), data, activation,
                   steps - dense_steps, budget.eval_every, show, workers)
    out["best_step"] = out["best_step"] + dense_steps
    return _finish(out, data, activation, budget, D, time.perf_counter() - start)


# ---------------------------------------------------------------- L0 gates (Louizos et al. 2018)
def hard_concrete_sample(log_alpha: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A gate of the hard-concrete distribution for uniform noise ``u`` in (0, 1) (their eq. 9-11):
    ``s = sigmoid((log u - log(1 - u) + log_alpha) / beta)``, stretched to ``(gamma, zeta)``,
    clamped to ``[0, 1]``."""
    gamma, zeta = L0_STRETCH
    s = torch.sigmoid((u.log() - (-u).log1p() + log_alpha) / L0_TEMPERATURE)
    return (s * (zeta - gamma) + gamma).clamp(0.0, 1.0)


def sample_gates(log_alpha: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Training-time gates: :func:`hard_concrete_sample` with ``u ~ U(0, 1)`` from ``gen``, kept
    1e-6 away from 0 and 1 (where ``log u`` or ``log(1 - u)`` is infinite)."""
    u = torch.rand(log_alpha.shape, generator=gen, device=log_alpha.device, dtype=log_alpha.dtype)
    return hard_concrete_sample(log_alpha, u.clamp(1e-6, 1 - 1e-6))


def hard_concrete_gate(log_alpha: torch.Tensor) -> torch.Tensor:
    """The test-time gate ``min(1, max(0, sigmoid(log_alpha) (zeta - gamma) + gamma))`` (their eq. 13)."""
    gamma, zeta = L0_STRETCH
    return (torch.sigmoid(log_alpha) * (zeta - gamma) + gamma).clamp(0.0, 1.0)


def expected_l0(log_alpha: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
    """Expected number of open gates, ``sum sigmoid(log_alpha - beta log(-gamma / zeta))`` over the
    ``counted`` (0/1) entries (their eq. 12): ``(..., H, C)`` -> ``(...)``."""
    gamma, zeta = L0_STRETCH
    return (torch.sigmoid(log_alpha - L0_TEMPERATURE * math.log(-gamma / zeta)) * counted).sum(dim=(-2, -1))


def gate_slots(depth: int) -> torch.Tensor:
    """``(H, 7L+1)`` 0/1: the weight entries a depth-``depth`` MLP can use (the input rows of
    ``B_1``, the other blocks, the output weights); the L0 penalty counts these gates only."""
    return (full_matrix(torch.ones(1, H, H * depth + 1))[0, :, : H * depth + 1] != 0).float()


def _datasets_slice(r: Result, lo: int, hi: int) -> Result:
    """The part of a :class:`Result` for datasets ``lo:hi``."""
    R = r.test_mpe.shape[-1]
    cut = lambda v: v[:, lo:hi]  # noqa: E731
    return Result(
        r.activation, r.depths, matrices=[m[lo:hi] for m in r.matrices], test_mpe=cut(r.test_mpe),
        nonzeros=cut(r.nonzeros), test_pred=[p[lo:hi] for p in r.test_pred], val_loss=cut(r.val_loss),
        best_step=cut(r.best_step), threshold=cut(r.threshold), lam=cut(r.lam),
        trajectory={k: (v if k == "step" else cut(v)) for k, v in r.trajectory.items()}, seconds=r.seconds,
        frames=[(st, [f[lo * R : hi * R] for f in fs]) for st, fs in r.frames],
        dead_start=cut(r.dead_start), dead_end=cut(r.dead_end), collapsed=cut(r.collapsed),
    )


def l0_gates(datasets: list[dict], activation: str, budget: SearchBudget, strengths: tuple[float, ...] = L0_STRENGTHS, *,
             lr: float = WEIGHT_LR, device="cpu", progress=False, workers: int | None = None) -> dict[float, Result]:
    """Baseline (c): hard-concrete L0 gates on every weight of a dense width-7 MLP of each depth,
    trained on MSE + ``lambda`` x expected L0, ``lambda = s x MSE_0 / gates``, for every ``s`` in
    ``strengths`` in one batched optimisation within ``budget``. The best validation state of each
    is scored with the deterministic gates (a gate at exactly 0 removes its weight). Returns ``{s: Result}``."""
    strengths = tuple(float(s) for s in strengths)
    if not strengths or not all(math.isfinite(s) and s > 0 for s in strengths):
        raise ValueError(f"strengths must be one or more finite numbers > 0, got {strengths!r}")
    D, R, depths = len(datasets), budget.restarts, budget.depths
    data, ws = _start([d for _ in strengths for d in datasets], budget, device)
    start_logit = math.log(1 - L0_INIT_DROP) - math.log(L0_INIT_DROP)
    # one leaf per depth, (n, 2, H, 7L+1): the weights and the gate logits
    leaves = [torch.stack([w.detach(), torch.full_like(w, start_logit / L0_LOGIT_SCALE)], dim=1).requires_grad_(True)
              for w in ws]
    slots = [gate_slots(j).to(device) for j in depths]
    per_triple = torch.tensor(strengths, device=device).repeat_interleave(D * R)
    gens = [torch.Generator(device=device).manual_seed(budget.seed + 7919 * (k + 1)) for k in range(len(depths))]

    def sampled(i: int) -> torch.Tensor:
        return full_matrix(leaves[i][:, 0] * sample_gates(L0_LOGIT_SCALE * leaves[i][:, 1], gens[i]))

    def deterministic(i: int) -> torch.Tensor:
        return full_matrix(leaves[i][:, 0] * hard_concrete_gate(L0_LOGIT_SCALE * leaves[i][:, 1]))

    def penalty(i: int) -> torch.Tensor:  # expected open gates per usable gate
        return expected_l0(L0_LOGIT_SCALE * leaves[i][:, 1], slots[i]) / slots[i].sum()

    show = step_reporter(progress, "L0 gates", budget.steps)
    begin = time.perf_counter()
    problem = Problem(sampled, leaves, lr, sparse=False, penalty_fn=penalty, penalty_scale=per_triple, export_fn=deterministic)
    out = optimise(problem, data, activation, budget.steps, budget.eval_every, show, workers)
    whole = _finish(out, data, activation, budget, D * len(strengths), time.perf_counter() - begin)
    return {s: _datasets_slice(whole, k * D, (k + 1) * D) for k, s in enumerate(strengths)}


__all__ = ["direct_sparse", "dense_then_prune", "l0_gates", "prune_mask", "init_weights", "full_matrix",
           "hard_concrete_sample", "sample_gates", "hard_concrete_gate", "expected_l0", "gate_slots", "WEIGHT_LR", "PRUNE_AT",
           "L0_STRETCH", "L0_TEMPERATURE", "L0_INIT_DROP", "L0_STRENGTHS", "L0_LOGIT_SCALE"]
