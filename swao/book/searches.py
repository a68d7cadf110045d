"""The book's search results: Table 2 and Figures 3-6, the search beside the three baselines on
the nine Table 2 datasets (:mod:`swao.ours.table2`), cached; and what the figures draw from them.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from swao.book.autoencoders import autoencoder
from swao.book.cache import cached, provenance
from swao.book.stages import MIN_LOSS
from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward
from swao.method.metrics import mpe
from swao.method.representation import nonzero_count
from swao.ours.table2 import run_table2, table2_datasets
from swao.training import diagnostics
from swao.training.config import Config

def search_results(config: Config, device="cpu", recompute: bool = False, progress: bool = True) -> dict:
    """Table 2 and Figures 3-6: the search and the three baselines on the 9 datasets."""

    def compute(folder: Path) -> dict:
        models = {act: autoencoder(config, MIN_LOSS[act], device)[0] for act in ACTIVATIONS}
        dev = next(models["sigmoid"].parameters()).device
        start = time.perf_counter()
        results = run_table2(models, config, device=dev, seed=config.seed, progress=progress)
        results["seconds"] = time.perf_counter() - start
        results["provenance"] = provenance(dev, config)
        return results

    return cached("search", compute, recompute=recompute, config=config)


def searched_views(results: dict, config: Config, dataset: str) -> list[dict]:
    """What Figures 3, 5, 6 draw for one dataset (``"2hl"``, ``"3hl"``, ``"4hl"``): per MLP type,
    the test points, the target, and each decoder's found MLP's predictions with its test MPE
    and non-zero count. The datasets are regenerated from ``config`` (the search's seeds), the
    MLPs read from ``results`` (:func:`search_results`)."""

    views = []
    for act, entry in results["types"].items():
        data = table2_datasets(act, config.search_points, config.seed)[dataset]
        with torch.no_grad():
            found = {dec: {"pred": forward(torch.tensor(c["matrix"]), data["x_test"], act), "mpe": c["mpe"],
                           "nonzeros": c["nonzeros"]} for dec, c in entry["search"][dataset].items()}
        views.append({"activation": act, "dataset": dataset, "x": data["x_test"], "y": data["y_test"], "found": found})
    return views


def dataset_floors(config: Config, activations=ACTIVATIONS) -> dict:
    """The constant and linear floors on every Table 2 dataset (:func:`swao.training.diagnostics.dataset_floors`),
    ``{activation: {dataset: {name: {"mpe", "parameters"}}}}``: a least-squares fit, computed
    when asked (well under a second), never cached."""

    return {act: {ds: diagnostics.dataset_floors(data) for ds, data in table2_datasets(act, config.search_points, config.seed).items()}
            for act in activations}


def search_frames(cell: dict, data: dict, activation: str, max_points: int = 1500) -> list[dict]:
    """One search's snapshots (``cell["frames"]``), each with its exported matrix, the
    predictions on the first ``max_points`` test points, their test MPE and non-zero count."""

    x, y = data["x_test"][:max_points], data["y_test"][:max_points]
    frames = []
    with torch.no_grad():
        for step, matrix in zip(cell["frames"]["step"], cell["frames"]["matrices"]):
            m = torch.as_tensor(matrix)
            pred = forward(m, x, activation)
            frames.append({"step": step, "matrix": m, "x": x, "y": y, "pred": pred, "mpe": float(mpe(pred, y)),
                           "nonzeros": int(nonzero_count(m))})
    return frames


__all__ = ["search_results", "searched_views", "dataset_floors", "search_frames"]
