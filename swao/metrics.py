"""Evaluation metrics: the Median Percentage Error (eq. 7) and the non-zero count.

``MPE = median_x |y_hat(x) - y(x)| / |y(x)| * 100`` for one MLP (median over its inputs,
absolute, in percent). For a set of MLPs a table cell is the mean of the per-MLP MPEs.
"""
from __future__ import annotations

import torch

from .representation import nonzero_count

__all__ = ["mpe", "mean_mpe", "nonzero_count"]


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


def mean_mpe(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over a set of MLPs of the per-MLP MPE: the number in a table cell."""
    return float(mpe(y_hat, y).mean())


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two 1-d samples (Pearson correlation of their ranks)."""
    if a.dim() != 1 or a.shape != b.shape or a.numel() < 3:
        raise ValueError(f"a and b must be 1-d of the same length >= 3, got {tuple(a.shape)} and {tuple(b.shape)}")
    ra = a.double().argsort().argsort().double()
    rb = b.double().argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


@torch.no_grad()
def embedding_quality(model, activation: str, n_pairs: int, seed: int, grid_points: int = 10) -> dict:
    """The paper's central claim, measured: do MLPs that compute similar functions sit close in
    the embedding? Over ``n_pairs`` random pairs of MLPs (the appendix's generator), the rank
    correlation between ``||z_a - z_b||`` and the functional distance
    ``sqrt(mean_x (f_a(x) - f_b(x))^2)`` on the input grid. 1 = distances agree in order.
    The MLPs are drawn on the CPU (the same pairs on every device), then moved to the model's
    device; all ``2 n_pairs`` go through at once (2,000 pairs: under 1 GB).
    """
    from .forward import forward_batch
    from .generation import input_grid, random_mlps
    from .model import device_of

    if not isinstance(n_pairs, int) or n_pairs < 3:
        raise ValueError(f"n_pairs must be an int >= 3, got {n_pairs!r}")
    device = device_of(model)
    padded, depth = random_mlps(2 * n_pairs, activation, seed=seed)
    padded, depth = padded.to(device), depth.to(device)
    x = input_grid(grid_points).to(device)
    y = forward_batch(padded, depth, x, activation)
    z = model.encode(padded, depth)
    z_dist = (z[:n_pairs] - z[n_pairs:]).norm(dim=1).cpu()
    f_dist = (y[:n_pairs] - y[n_pairs:]).pow(2).mean(dim=1).sqrt().cpu()
    same = (depth[:n_pairs] == depth[n_pairs:]).cpu()
    return {
        "spearman": rank_correlation(z_dist, f_dist),
        "spearman_same_depth": rank_correlation(z_dist[same], f_dist[same]) if same.sum() >= 3 else float("nan"),
        "n_pairs": n_pairs,
        "z_dist": z_dist.tolist(),
        "f_dist": f_dist.tolist(),
    }
