"""The book's search results: Table 2 and Figures 3-6, the search beside the three baselines on
the nine Table 2 datasets (:mod:`swao.ours.table2`), cached; and what the figures draw from them.
"""
from __future__ import annotations

from pathlib import Path

import torch

from swao.book.autoencoders import autoencoder
from swao.book.cache import cached, has_result
from swao.book.provenance import provenance
from swao.book.parallel import at_once, processes_for
from swao.book.stages import MIN_LOSS
from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward
from swao.method.metrics import mpe
from swao.method.model import device_of
from swao.method.representation import nonzero_count
from swao.ours.table2 import run_table2, table2_datasets
from swao.training import diagnostics
from swao.training.config import Config, cpu_threads, resolve_device

# CPU threads of one MLP type's search and baselines, wherever they run: alone, or beside the
# other types' in the compute stage (swao.book.reproduce.search_at_once). Fixed, because the
# layout of the threads changes the last bits of the sums (as TRAIN_THREADS for a training).
SEARCH_THREADS = 1


def search_type(config: Config, activation: str, device, progress: bool = True) -> dict:
    """Table 2's search and the three baselines on one MLP type's datasets, through its min-loss
    autoencoder (:func:`swao.ours.table2.run_table2`, on :data:`SEARCH_THREADS` CPU threads); a
    part of :func:`search_results`."""
    model = autoencoder(config, MIN_LOSS[activation], device)[0]
    dev = device_of(model)
    with cpu_threads(SEARCH_THREADS, dev):
        return run_table2({activation: model}, config, device=dev, seed=config.seed, progress=progress)


def search_jobs(config: Config, device, progress: bool = True) -> list[tuple]:
    """One :func:`search_type` job per MLP type, for :func:`swao.book.parallel.at_once`."""
    return [(search_type, config, act, str(resolve_device(device)), progress) for act in ACTIVATIONS]


def search_results(config: Config, device="cpu", recompute: bool = False, progress: bool = True,
                   parts: list[dict] | None = None) -> dict:
    """Table 2 and Figures 3-6: the search and the three baselines on the 9 datasets, one
    :func:`search_type` per MLP type, side by side on a CPU of several cores
    (:func:`swao.book.parallel.at_once`); ``parts``: theirs, computed beside other work by the
    compute stage (:func:`swao.book.reproduce.search_at_once`)."""

    def compute(folder: Path) -> dict:
        dev = resolve_device(device)
        done = parts or at_once(search_jobs(config, dev, progress), processes_for(dev, len(ACTIVATIONS)))
        results = {**done[0], "types": {act: part["types"][act] for act, part in zip(ACTIVATIONS, done)}}
        # the runs' seconds summed over the types (which may have run side by side)
        results["seconds"] = sum(sum(e["seconds"].values()) for e in results["types"].values())
        results["provenance"] = provenance(dev, config)
        return results

    return cached("search", compute, recompute=recompute, config=config)


def search_cached(config: Config) -> bool:
    """Whether the cache already holds :func:`search_results` at ``config``."""
    return has_result("search", config=config)


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


__all__ = ["SEARCH_THREADS", "search_type", "search_jobs", "search_results", "search_cached", "searched_views", "dataset_floors", "search_frames"]
