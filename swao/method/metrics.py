"""The paper's measures: the Median Percentage Error (eq. 7) and the non-zero count.

``MPE = median_x |y_hat(x) - y(x)| / |y(x)| * 100`` for one MLP (median over its inputs,
absolute, in percent). For a set of MLPs a table cell is the mean of the per-MLP MPEs.
"""
from __future__ import annotations

import torch

from swao.method.representation import nonzero_count

__all__ = ["mpe", "median", "nonzero_count", "NEAR_CONSTANT", "is_near_constant"]

NEAR_CONSTANT = 0.05  # ours, not the paper's: an output whose std is under this share of the target's is near-constant


def mpe(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-MLP MPE (eq. 7): ``y_hat``, ``y`` of shape ``(..., P)`` -> ``(...)`` in percent.

    A target of exactly 0 gives an infinite error at that input; the median ignores a few.
    """
    if not isinstance(y_hat, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError("y_hat and y must be torch tensors")
    if y_hat.shape != y.shape or y.dim() == 0 or y.shape[-1] == 0:
        raise ValueError(f"y_hat and y must have the same non-empty shape (..., P), got {tuple(y_hat.shape)} and {tuple(y.shape)}")
    if torch.isnan(y_hat).any() or torch.isnan(y).any():
        raise ValueError("y_hat or y contains NaN")
    return median((y_hat - y).abs() / y.abs() * 100)


def median(err: torch.Tensor) -> torch.Tensor:
    """Median over the last dim, the mean of the two middle values for an even count (as numpy;
    ``torch.median`` takes the lower one). Infinite middles give ``inf``."""
    s = err.sort(dim=-1).values
    n = s.shape[-1]
    lo, hi = s[..., (n - 1) // 2], s[..., n // 2]
    return torch.where(torch.isinf(lo) | torch.isinf(hi), torch.maximum(lo, hi), (lo + hi) / 2)


def is_near_constant(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Ours, not the paper's: per MLP, is ``pred``'s spread over its inputs (std over the last
    dim) under :data:`NEAR_CONSTANT` times the target ``y``'s? Such an MLP computes (nearly) a
    constant: it has collapsed, whatever its non-zero count, and an MPE can still look fair."""
    return pred.std(-1) < NEAR_CONSTANT * y.std(-1)
