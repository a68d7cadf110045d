"""Functions nobody here wrote: three-variable formulas of the Feynman Symbolic Regression Database
(Udrescu and Tegmark 2020, "AI Feynman: a physics-inspired method for symbolic regression").

Each :class:`Equation` is named by its ID in the database and carries the formula and the
sampling range of each variable as published in its table of equations (``FeynmanEquations.csv``:
every variable drawn uniformly from its range). :func:`feynman_dataset` draws the points with a
fixed seed and splits them 5:3:2 like every search dataset (:func:`swao.method.generation.split`); the
values are in the formula's own units (the search's scaling is :class:`swao.ours.export.Units`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from swao.method.generation import split


@dataclass(frozen=True)
class Equation:
    id: str  # the database's Filename column, e.g. "I.14.3"
    output: str
    formula: str  # as printed in the database
    variables: tuple[str, str, str]
    ranges: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


EQUATIONS: dict[str, Equation] = {e.id: e for e in (
    Equation("I.6.2b", "f", "exp(-((theta-theta1)/sigma)**2/2)/(sqrt(2*pi)*sigma)", ("sigma", "theta", "theta1"),
             ((1, 3), (1, 3), (1, 3)),
             lambda sigma, theta, theta1: torch.exp(-((theta - theta1) / sigma) ** 2 / 2) / (math.sqrt(2 * math.pi) * sigma)),
    Equation("I.14.3", "U", "m*g*z", ("m", "g", "z"), ((1, 5), (1, 5), (1, 5)), lambda m, g, z: m * g * z),
    Equation("I.18.12", "tau", "r*F*sin(theta)", ("r", "F", "theta"), ((1, 5), (1, 5), (0, 5)),
             lambda r, F, theta: r * F * torch.sin(theta)),
    Equation("I.10.7", "m", "m_0/sqrt(1-v**2/c**2)", ("m_0", "v", "c"), ((1, 5), (1, 2), (3, 10)),
             lambda m_0, v, c: m_0 / torch.sqrt(1 - v ** 2 / c ** 2)),
)}
BOOK_EQUATIONS = ("I.6.2b", "I.14.3", "I.18.12")  # the your-data page's default


def equation(eq_id: str) -> Equation:
    if eq_id not in EQUATIONS:
        raise ValueError(f"equation must be one of {list(EQUATIONS)}, got {eq_id!r}")
    return EQUATIONS[eq_id]


def feynman_points(eq_id: str, n_points: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x (n, 3), y (n,))``: the variables drawn uniformly over their published ranges (float64
    for the formula, returned as float32)."""
    e = equation(eq_id)
    if not isinstance(n_points, int) or n_points < 10:
        raise ValueError(f"n_points must be an int >= 10 (the 5:3:2 split), got {n_points!r}")
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([r[0] for r in e.ranges], dtype=torch.float64)
    hi = torch.tensor([r[1] for r in e.ranges], dtype=torch.float64)
    x = lo + (hi - lo) * torch.rand(n_points, 3, generator=g, dtype=torch.float64)
    return x.float(), e.fn(*x.unbind(-1)).float()


def feynman_dataset(eq_id: str, n_points: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """One equation's dataset in its own units, split train / valid / test 5:3:2."""
    return split(*feynman_points(eq_id, n_points, seed))


__all__ = ["Equation", "EQUATIONS", "BOOK_EQUATIONS", "equation", "feynman_points", "feynman_dataset"]
