"""Ours: does the embedding put MLPs that compute alike close together? The paper claims it
(abstract, Section 3.1) and gives no number; :func:`embedding_quality` measures it as a rank
correlation between embedding and functional distances (the book's embedding study).
"""
from __future__ import annotations

import torch

from swao.method.forward import forward_batch
from swao.method.generation import input_grid, random_mlps
from swao.method.model import device_of


def ranks(a: torch.Tensor) -> torch.Tensor:
    """0-based ranks of a 1-d sample as float64, tied values sharing their average rank."""
    a = a.double()
    order = a.argsort()
    _, tie, counts = torch.unique_consecutive(a[order], return_inverse=True, return_counts=True)
    average = counts.cumsum(0).double() - (counts.double() + 1) / 2  # the mean of each tie's positions
    return torch.empty_like(a).index_put_((order,), average[tie])


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two 1-d samples (tensors or lists): the Pearson
    correlation of their ranks, ties given their average rank (non-zero counts tie often)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.dim() != 1 or a.shape != b.shape or a.numel() < 3:
        raise ValueError(f"a and b must be 1-d of the same length >= 3, got {tuple(a.shape)} and {tuple(b.shape)}")
    ra, rb = ranks(a), ranks(b)
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


__all__ = ["ranks", "rank_correlation", "embedding_quality"]
