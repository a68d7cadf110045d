"""Sparsity and compactness (Section 3.2, eq. 5 and 6): the soft switch, the sparsity penalty,
and the MLP a search reports.

* eq. 5:  every decoded weight is switched, ``w' = w sigma(100(|w| - t))``, with a learnable
  threshold ``t`` per search;
* eq. 6:  the penalty ``sum_w [0.5 sigma(10(|w| - t)) + 0.1 |w|]`` over the weights *before* the
  switch (the paper: every decoded weight, zeros of inactive neurons included, as in the
  authors' code; ours, ``penalty="active"``: only the non-zero ones);
* the exported MLP: the switched weights with ``|w| <= t`` set to exactly 0.

The search that minimises eq. 4 + lambda x eq. 6 is :func:`swao.method.search.search`.
"""
from __future__ import annotations


import torch

from swao.method.options import PENALTIES
from swao.method.representation import H, depth_of, split_matrix

SWITCH_SHARPNESS = 100.0  # eq. 5
COUNT_SHARPNESS, COUNT_WEIGHT, L1_WEIGHT = 10.0, 0.5, 0.1  # eq. 6


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


__all__ = ["SWITCH_SHARPNESS", "COUNT_SHARPNESS", "COUNT_WEIGHT", "L1_WEIGHT", "PENALTIES", "weights_and_masks",
           "soft_switch", "sparsity_penalty", "switched", "layer_floor", "export_matrix"]
