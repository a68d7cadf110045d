"""Helpers of the tests only (not the package's: nothing in swao needs them)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import torch

from swao.method.metrics import mpe
from swao.method.representation import N_IN, depth_of, pad_matrix
from swao.ours.feynman import equation, feynman_points


def mean_mpe(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over a set of MLPs of the per-MLP MPE: the number in a table cell."""
    return float(mpe(y_hat, y).mean())


def stack_matrices(matrices: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack matrices of any depths into a padded batch ``(N, H, 33)`` and ``depth (N,)``."""
    if len(matrices) == 0:
        raise ValueError("matrices must not be empty")
    depth = torch.tensor([depth_of(m) for m in matrices])
    return torch.stack([pad_matrix(m) for m in matrices]), depth


def n_links(widths: list[int]) -> int:
    """Possible links of an MLP with hidden widths ``widths``: ``3 w_1 + sum w_l w_{l+1} + w_L``."""
    sizes = [N_IN, *widths, 1]
    return int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))


def write_csv(eq_id: str, path: str | Path, n_points: int, seed: int = 0) -> Path:
    """The equation's points as a CSV that ``swao search --dataset`` reads (a header of the
    variable names, then ``x1,x2,x3,y`` rows), written whole (temp file, then rename)."""
    e, (x, y) = equation(eq_id), feynman_points(eq_id, n_points, seed)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*e.variables, e.output])
        w.writerows([[repr(v) for v in row] for row in torch.cat([x, y[:, None]], 1).tolist()])
    os.replace(tmp, path)
    return path


__all__ = ["mean_mpe", "stack_matrices", "n_links", "write_csv"]
