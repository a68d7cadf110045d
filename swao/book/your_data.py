"""The book's your-data page: a user's CSV file, or by default three Feynman equations, searched
in the user's units beside the three baselines, cached by the data's content.
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import torch

from swao.book.autoencoders import autoencoder
from swao.book.cache import cached, has_result
from swao.book.provenance import provenance
from swao.book.searches import SEARCH_THREADS
from swao.book.stages import MIN_LOSS, YOUR_DATA_TYPES
from swao.method.metrics import mpe
from swao.method.model import device_of
from swao.ours.csv_dataset import load_csv
from swao.ours.export import Units, exported_sequential, fit_units
from swao.ours.feynman import BOOK_EQUATIONS, feynman_dataset
from swao.ours.table2 import METHODS, best_decoder, run_search
from swao.training import diagnostics
from swao.training.config import Config, cpu_threads

def your_data_datasets(config: Config, csv: str | Path | None = None, equations=None) -> dict[str, dict]:
    """Datasets in the user's units: a CSV file's (named by its stem, :func:`swao.ours.csv_dataset.load_csv`)
    or, without one, the Feynman equations' (:data:`swao.ours.feynman.BOOK_EQUATIONS` by default),
    ``config.search_points`` points each."""

    if csv is not None:
        return {Path(csv).stem: load_csv(csv, config.seed)}
    return {e: feynman_dataset(e, config.search_points, config.seed) for e in (equations or BOOK_EQUATIONS)}


def data_spec(csv: str | Path | None = None, equations=None) -> dict:
    """What names the data searched: a CSV file's content hash, or the Feynman equations'
    IDs (:data:`swao.ours.feynman.BOOK_EQUATIONS` by default)."""
    return ({"csv_sha256": hashlib.sha256(Path(csv).read_bytes()).hexdigest()} if csv is not None and Path(csv).is_file()
            else {"csv": str(csv)} if csv is not None else {"equations": list(equations or BOOK_EQUATIONS)})


def your_data_results(config: Config, device="cpu", csv: str | Path | None = None, equations=None,
                      recompute: bool = False, progress: bool = True) -> dict:
    """The your-data page: each dataset scaled into the search's units (:class:`swao.ours.export.Units`,
    fitted on its training split), searched with the min-loss autoencoder of each type in
    :data:`YOUR_DATA_TYPES` beside the three baselines (:func:`swao.ours.table2.run_search`), with
    the units and each dataset's constant and linear floors. Every cell's ``mpe`` is the test
    MPE of the exported MLP in the user's units (the search's own, on the scaled outputs, is
    ``mpe_scaled``; the scaling is ours, so it must not decide the score). Keyed by the data's
    content."""

    spec = data_spec(csv, equations)

    def compute(folder: Path) -> dict:
        models = {act: autoencoder(config, MIN_LOSS[act], device)[0] for act in YOUR_DATA_TYPES}
        with cpu_threads(SEARCH_THREADS, device_of(next(iter(models.values())))):  # as a search of Table 2
            return search_your_data(models, config, csv, equations, progress)

    return cached("your_data", compute, recompute=recompute, config=config, data=spec, types=list(YOUR_DATA_TYPES))


def your_data_cached(config: Config, csv: str | Path | None = None, equations=None) -> bool:
    """Whether the cache already holds :func:`your_data_results` for these data."""
    return has_result("your_data", config=config, data=data_spec(csv, equations), types=list(YOUR_DATA_TYPES))


def in_user_units(results: dict, raw: dict, units: dict) -> dict:
    """Every reported MPE of a search of scaled datasets (:func:`swao.ours.table2.run_search`) in
    the user's units, in place: each cell's ``mpe`` becomes the test MPE of its exported MLP
    (:func:`swao.ours.export.exported_sequential`) on the dataset as the user gave it (``raw``:
    ``{name: dataset}``; ``units``: ``{activation: {name: Units}}``); the search's own, on the
    scaled outputs, is kept as ``mpe_scaled`` and ``mpe_all_scaled`` (the scaling is ours, so it
    must not decide the score). Returns ``results``."""
    for act, entry in results["types"].items():
        for method in METHODS:
            for ds, cells in entry.get(method, {}).items():
                for c in cells.values():
                    with torch.no_grad():
                        seq = exported_sequential(torch.tensor(c["matrix"]), act, units[act][ds])
                        m = float(mpe(seq(raw[ds]["x_test"]).squeeze(-1), raw[ds]["y_test"]))
                    c.update(mpe=m if math.isfinite(m) else None, mpe_scaled=c["mpe"], mpe_all_scaled=c.pop("mpe_all"))
    return results


def search_your_data(models: dict, config: Config, csv: str | Path | None = None, equations=None,
                     progress: bool = True) -> dict:
    """:func:`your_data_results`'s computation through given autoencoders (``{activation: model}``;
    e.g. the paper-budget run's, ``studies/paper_budget.py your-data``), never cached."""
    spec = data_spec(csv, equations)
    raw = your_data_datasets(config, csv, equations)
    dev = device_of(next(iter(models.values())))
    units = {act: {ds: fit_units(d, act) for ds, d in raw.items()} for act in models}
    data = {act: {ds: units[act][ds].dataset(d) for ds, d in raw.items()} for act in models}
    start = time.perf_counter()
    results = in_user_units(run_search(models, data, config, dev, config.seed, progress), raw, units)
    results.update(units={act: {ds: u.to_dict() for ds, u in us.items()} for act, us in units.items()},
                   data={**spec, "csv": None if csv is None else str(csv), "names": list(raw)},
                   # a constant and a least-squares fit commute with the affine scaling: fitted in the user's units
                   floors={act: {ds: diagnostics.dataset_floors(d) for ds, d in raw.items()} for act in models},
                   seconds=time.perf_counter() - start, provenance=provenance(dev, config))
    return results


def live_alternative(cells: dict, chosen: dict) -> dict | None:
    """Where ``chosen``, the depth of ``cells`` (``{decoder: cell}``) chosen by validation loss,
    collapsed (a near-constant function), the lowest-validation-loss depth that did not:
    ``{"decoder", "mpe", "nonzeros", "matrix"}``, or ``None`` (the chosen one is live, or every
    depth collapsed)."""
    if not chosen.get("collapsed"):
        return None
    live = {k: c for k, c in cells.items() if c.get("collapsed") is False}
    if not live:
        return None
    dec, c = best_decoder(live)
    return {"decoder": dec, "mpe": c["mpe"], "nonzeros": c["nonzeros"], "matrix": torch.tensor(c["matrix"])}


def your_data_views(results: dict, config: Config, csv: str | Path | None = None, equations=None) -> list[dict]:
    """What the your-data figure draws, in the user's units: per dataset and type, the test
    points' targets and each method's found MLP (its depth chosen by validation loss) as the
    exported ``nn.Sequential`` predicts them, with the test MPE (user's units) and non-zeros."""

    raw = your_data_datasets(config, csv, equations)
    views = []
    for act, entry in results["types"].items():
        for ds, d in raw.items():
            units = Units.from_dict(results["units"][act][ds])
            found = {}
            for m in METHODS:
                if m in entry:
                    dec, c = best_decoder(entry[m][ds])
                    with torch.no_grad():
                        pred = exported_sequential(torch.tensor(c["matrix"]), act, units)(d["x_test"]).squeeze(-1)
                    found[m] = {"decoder": dec, "pred": pred, "mpe": c["mpe"], "nonzeros": c["nonzeros"],
                                "matrix": torch.tensor(c["matrix"]), "strength": c.get("strength"),
                                "collapsed": c.get("collapsed"), "live": live_alternative(entry[m][ds], c)}
            views.append({"activation": act, "dataset": ds, "units": units, "x": d["x_test"], "y": d["y_test"], "found": found})
    return views


__all__ = ["data_spec", "your_data_datasets", "your_data_results", "your_data_cached", "search_your_data", "your_data_views",
           "live_alternative"]
