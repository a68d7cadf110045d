"""Does compute explain the gap to the paper? The scaling law of the scaling study.

``studies/training_scaling.py`` trains the sigmoid-based min-loss autoencoder with the small
recipe at several budgets (MLP passes = steps x batch) and scores each as Table 1 does. Here,
per encoder, a power law ``MPE = a * passes^b`` is fitted by least squares in log-log to the
budget runs (each trained with its own schedule; the on-the-way points of one long run are not
budget runs and are left out of the fit), and extrapolated to the paper's 12.8 M passes, where
it is set beside the paper's Table 1. Three views, as the book's Table 1 has them:

* ``best_cell``: the table's best cell, ``min_j`` of the mean MPE over test MLPs (the paper's
  Table 1 numbers are such means: the like-for-like comparison);
* ``best_median`` / ``best_mean``: each test MLP's best decoder, median / mean over MLPs.
"""
from __future__ import annotations

import math

import numpy as np

from swao.training.evaluation import best_cells

VIEWS = {"best_cell": "best cell of the table (mean over MLPs)", "best_median": "each MLP's best decoder: median",
         "best_mean": "each MLP's best decoder: mean"}
REACHES = 1.25  # a prediction within 25 % of the paper's value counts as reaching it
FAR = 2.0  # a prediction over twice the paper's value counts as far from it


def view(run: dict, name: str) -> list[float]:
    """One of :data:`VIEWS` of a scored run, per encoder E1..E4."""
    if name == "best_cell":
        return best_cells(run["table"])
    if name not in VIEWS:
        raise ValueError(f"view must be one of {tuple(VIEWS)}, got {name!r}")
    return list(run[name])


def paper_best_cell(study: dict) -> list[float]:
    """The paper's Table 1 (min loss), best cell per encoder (decoders are rows)."""
    return view({"table": study["paper_table1_min"]}, "best_cell")


def power_law(passes: list[float], values: list[float]) -> tuple[float, float]:
    """``(a, b)`` of ``value = a * passes^b``, least squares on ``log10`` of both."""
    if len(passes) < 2 or len(passes) != len(values) or min(passes) <= 0 or min(values) <= 0:
        raise ValueError(f"a power law needs >= 2 positive points, got passes={passes}, values={values}")
    b, log_a = np.polyfit(np.log10(passes), np.log10(values), 1)
    return float(10**log_a), float(b)


def at(fit: dict, passes):
    """A fitted power law (one encoder's entry of :func:`trend`) evaluated at ``passes`` (a number
    or an array)."""
    return fit["a"] * passes ** fit["b"]


def trend(study: dict, name: str = "best_cell") -> list[dict]:
    """Per encoder: the fit over the budget runs and its prediction at the paper's passes,
    ``{"a", "b", "per_decade", "predicted", "paper", "last", "last_passes", "passes"}``
    (``per_decade``: the factor one 10x of compute multiplies the MPE by; ``paper`` only for
    ``best_cell``)."""
    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    passes = [r["mlp_passes"] for r in runs]
    values = [view(r, name) for r in runs]
    paper = paper_best_cell(study) if name == "best_cell" else [None] * len(values[0])
    out = []
    for e in range(len(values[0])):
        a, b = power_law(passes, [v[e] for v in values])
        out.append({"a": a, "b": b, "per_decade": 10**b, "predicted": at({"a": a, "b": b}, study["paper_mlp_passes"]),
                    "paper": paper[e], "last": values[-1][e], "last_passes": passes[-1], "passes": passes})
    return out


def verdict(study: dict) -> dict:
    """What the trend of the like-for-like view says, per encoder and in all:
    ``"reaches"`` (the prediction at 12.8 M passes is within :data:`REACHES` of the paper),
    ``"far"`` (over :data:`FAR` times the paper's, or the error does not fall with compute),
    else ``"between"``; the whole is "compute explains the gap" when every encoder reaches,
    "it does not" when every encoder is far, else "cannot tell yet"."""
    per = []
    for t in trend(study, "best_cell"):
        ratio = t["predicted"] / t["paper"]
        per.append("far" if t["b"] >= 0 or ratio > FAR else ("reaches" if ratio <= REACHES else "between"))
    whole = ("compute explains the gap" if all(v == "reaches" for v in per) else
             "it does not" if all(v == "far" for v in per) else "cannot tell yet")
    extrapolation = study["paper_mlp_passes"] / max(r["mlp_passes"] for r in study["runs"])
    return {"per_encoder": per, "whole": whole, "extrapolation": extrapolation,
            "decades": math.log10(extrapolation)}


__all__ = ["VIEWS", "REACHES", "FAR", "view", "paper_best_cell", "power_law", "at", "trend", "verdict"]
