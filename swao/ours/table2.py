"""The Table 2 experiment (Section 4.2), beside three baselines: its datasets, the runs, and
the choices read from a result.

Section 4.2 searches, for each MLP type, the three datasets made by a sparse target MLP with 2,
3 and 4 hidden layers (14, 35 and 48 non-zeros) with every decoder ``D1..D4``, and reports the
test MPE (eq. 7) and non-zero count of the found MLPs (Table 2). Here, beside the search
(:func:`swao.method.search.search`, eq. 4-6), the same datasets also go through the three
baselines of :mod:`swao.ours.baselines` (:func:`run_search`, :class:`Comparison`). The book caches the result
(:mod:`swao.book.searches`); ``swao search`` runs it on the Table 2 datasets or a user's CSV
file (:mod:`swao.cli.search`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from swao.method.activations import ACTIVATIONS, TYPE_NAMES, check_activation
from swao.method.generation import TARGET_NONZEROS, target_dataset
from swao.method.representation import DEPTHS
from swao.method.search import search
from swao.method.settings import SearchBudget, SearchOptions
from swao.ours.baselines import dense_then_prune, direct_sparse, l0_gates
from swao.training.config import Config, resolve_device

DATASET_DEPTHS = {f"{L}hl": L for L in TARGET_NONZEROS}  # "2hl": 2, "3hl": 3, "4hl": 4
DATASETS = {name: f"{L} HL ({TARGET_NONZEROS[L]})" for name, L in DATASET_DEPTHS.items()}  # their titles: "2 HL (14)"
# What a result holds per MLP type, each a method's MLPs: Table 2's search and the three baselines.
METHODS = {"search": "embedding search", "direct": "direct sparse", "pruned": "dense + prune", "l0": "L0 gates"}
READS_SEARCH = ("pruned", "l0")  # the baselines matched to the search's non-zero counts (they need its cells)
WEIGHT_FREE = ("direct",)  # read neither an autoencoder nor the search: the same run through any weights


# ---------------------------------------------------------------- the datasets of Table 2
def dataset_seed(activation: str, depth: int, seed: int) -> int:
    """Seed of the target MLP behind the ``depth``-hidden-layer dataset of one MLP type."""
    return 1000 * seed + 10 * ACTIVATIONS.index(check_activation(activation)) + depth


def table2_datasets(activation: str, n_points: int, seed: int = 0) -> dict[str, dict]:
    """The 3 search datasets of one MLP type (Section 4.2): ``{"2hl": ..., "3hl": ..., "4hl": ...}``."""
    return {name: target_dataset(L, activation, dataset_seed(activation, L, seed), n_points) for name, L in DATASET_DEPTHS.items()}


# ---------------------------------------------------------------- Table 2, beside the baselines


def pruning_targets(searched: dict, names: list[str], depths=DEPTHS) -> torch.Tensor:
    """``(depths, datasets)``: the non-zeros of the search's best restart in each cell, read from
    its cells (``searched``, :meth:`swao.method.optimise.Result.summary`): what dense + pruning
    prunes to, and what the L0 choice matches."""
    return torch.tensor([[searched[ds][f"D{L}"]["nonzeros"] for ds in names] for L in depths])


@dataclass(frozen=True)
class Comparison:
    """What every method of one Table 2 comparison shares: the search's budget (the baselines
    get the same), its options, the device and whether to show progress. Built once per run
    (:meth:`of`)."""

    budget: SearchBudget
    options: SearchOptions
    device: torch.device
    progress: bool = True

    @classmethod
    def of(cls, config: Config, seed: int = 0, device="cpu", progress: bool = True,
           eval_every: int | None = None) -> "Comparison":
        """The comparison a configuration makes: its search budget from ``seed``, its search options."""
        return cls(config.search_budget(seed, eval_every), config.search_options(), resolve_device(device), progress)

    def run(self, method: str, model, act: str, datasets: dict[str, dict], searched: dict | None = None) -> dict:
        """One of :data:`METHODS` on one MLP type's datasets (``{name: dataset}``), each method on
        its own seed (the budget's + its place in :data:`METHODS`), so that the methods may run in
        any order, apart or together: ``{"cells": {method: cells, ...}, "seconds": s}``. The
        baselines after the search need its cells (``searched``): dense + pruning prunes to the
        search's non-zeros and the L0 choice matches them (:func:`pruning_targets`, :func:`l0_choice`)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        if method in READS_SEARCH and searched is None:
            raise ValueError(f"the {METHODS[method]} baseline needs the search's cells (searched=...)")
        names, data, dev = list(datasets), list(datasets.values()), self.device
        budget = self.budget.replace(seed=self.budget.seed + list(METHODS).index(method))
        say = f"{act} {METHODS[method]}" if self.progress else False
        if method == "search":
            r = search(model.to(dev), data, act, budget, self.options, progress=say)
            return {"cells": {"search": r.summary(names)}, "seconds": r.seconds}
        if method == "direct":
            r = direct_sparse(data, act, budget, device=dev, progress=say)
            return {"cells": {"direct": r.summary(names)}, "seconds": r.seconds}
        if method == "pruned":
            r = dense_then_prune(data, act, budget, pruning_targets(searched, names), device=dev, progress=say)
            return {"cells": {"pruned": r.summary(names)}, "seconds": r.seconds}
        # one run per strength: the sweep's strengths take the place of the restarts (the book's budget)
        sweep = l0_gates(data, act, budget.replace(restarts=1), device=dev, progress=say)
        return {"cells": l0_choice(sweep, names, searched), "seconds": next(iter(sweep.values())).seconds}


def run_search(
    autoencoders: dict, datasets: dict[str, dict[str, dict]], config: Config, device="cpu", seed: int = 0,
    progress: bool = True, baselines: bool = True, eval_every: int | None = None,
) -> dict:
    """Search (and the baselines) for ``datasets[activation][name]`` with ``autoencoders[activation]``.

    Returns plain, JSON-ready data: ``results["types"][activation][method][dataset]["D<j>"]`` with
    method in ``search``, ``direct``, ``pruned``, ``l0`` (see :meth:`swao.method.optimise.Result.summary`
    for a cell; :meth:`Comparison.run`, in that order). ``l0`` holds, per cell, the swept strength whose
    non-zero count is nearest the search's (:func:`l0_choice`); ``l0_sweep`` every strength's MPE and counts.
    """
    comparison = Comparison.of(config, seed, device, progress, eval_every)
    results = result_header(config, seed, comparison.device, baselines)
    for act, model in autoencoders.items():
        if progress:
            print(f"{TYPE_NAMES[act]}: {len(datasets[act])} dataset(s) x 4 decoders x {config.restarts} restart(s), "
                  f"{config.search_steps} steps", flush=True)
        parts: dict = {}
        for method in METHODS if baselines else ["search"]:
            searched = parts["search"]["cells"]["search"] if "search" in parts else None
            parts[method] = comparison.run(method, model, act, datasets[act], searched)
        results["types"][act] = type_entry(parts)
    return results


def result_header(config: Config, seed: int, device, baselines: bool) -> dict:
    """A Table 2 result before its MLP types: the config, seed, device, steps and restarts."""
    return {"config": config.to_dict(), "seed": seed, "device": str(device), "steps": config.search_steps,
            "restarts": config.restarts, "baselines": baselines, "types": {}}


def type_entry(parts: dict[str, dict]) -> dict:
    """One MLP type's entry of a result from its methods' parts (``{method: {"cells", "seconds"}}``,
    :meth:`Comparison.run`): the search's cells first, then the baselines' in :data:`METHODS`'
    order, and ``seconds`` per method."""
    entry: dict = {"seconds": {m: parts[m]["seconds"] for m in METHODS if m in parts}}
    for m in [m for m in METHODS if m in parts]:
        entry.update(parts[m]["cells"])
    return {"search": entry.pop("search"), **entry}


SWEEP_FIELDS = ("mpe", "nonzeros", "mpe_all", "nonzeros_all", "best_restart")


def l0_choice(sweep: dict, names: list[str], searched: dict) -> dict:
    """``{"l0": cells, "l0_sweep": {strength: slim cells}}`` from :func:`swao.ours.baselines.l0_gates`'s
    ``{s: Result}``: per dataset and depth, the strength whose best restart's non-zero count is
    nearest the search's there (the sparser on a tie), chosen on counts only, never on MPE."""
    full = {s: r.summary(names) for s, r in sweep.items()}
    chosen: dict = {}
    for ds in names:
        chosen[ds] = {}
        for dec, target in searched[ds].items():
            s = min(full, key=lambda s: (abs(full[s][ds][dec]["nonzeros"] - target["nonzeros"]), -s))
            chosen[ds][dec] = {**full[s][ds][dec], "strength": s}
    slim = {f"{s:g}": {ds: {dec: {k: c[k] for k in SWEEP_FIELDS} for dec, c in cells.items()} for ds, cells in f.items()}
            for s, f in full.items()}
    return {"l0": chosen, "l0_sweep": slim}


def run_table2(autoencoders: dict, config: Config, device="cpu", seed: int = 0, progress: bool = True,
               baselines: bool = True) -> dict:
    """Table 2 (Section 4.2) with the three baselines: the 3 datasets of each MLP type in
    ``autoencoders`` (``{activation: model}``), ``config.search_points`` points each,
    ``config.search_steps`` steps, ``config.restarts`` restarts. Plain data (JSON-ready)."""
    datasets = {act: table2_datasets(act, config.search_points, seed) for act in autoencoders}
    return run_search(autoencoders, datasets, config, device, seed, progress, baselines)


# ---------------------------------------------------------------- reading a result
def best_decoder(cells: dict) -> tuple[str, dict]:
    """The decoder whose best restart has the lowest *validation* loss (chosen without the test
    set; a diverged one, ``None``, counts as worst)."""
    key = lambda kv: float("inf") if kv[1].get("val_loss") is None else kv[1]["val_loss"]  # noqa: E731
    return min(cells.items(), key=key)


def _restart_points(act: str, cells_by_dataset: dict, **extra) -> list[dict]:
    """Every restart of every cell ``{dataset: {decoder: cell}}`` as a point ``{activation, dataset,
    decoder, mpe, nonzeros, collapsed, **extra}`` (``collapsed``: the MLP computes a near-constant,
    :func:`swao.method.metrics.is_near_constant`; ``None`` for results made before it was recorded)."""
    return [{"activation": act, "dataset": ds, "decoder": dec, **extra, "mpe": m, "nonzeros": n, "collapsed": k}
            for ds, cells in cells_by_dataset.items() for dec, c in cells.items()
            for m, n, k in zip(c["mpe_all"], c["nonzeros_all"], c.get("collapsed_all") or [None] * len(c["mpe_all"]))]


def tradeoff_points(results: dict, method: str = "search") -> list[dict]:
    """Every searched MLP (all decoders and restarts) as ``{activation, mpe, nonzeros, collapsed, ...}``."""
    return [p for act, entry in results["types"].items() for p in _restart_points(act, entry[method])]


def l0_tradeoff_points(results: dict) -> list[dict]:
    """Every MLP of the L0 sweep (all strengths, decoders and restarts) as ``{activation, strength,
    mpe, nonzeros}``; empty for results made without it."""
    return [p for act, entry in results["types"].items() for s, sweep in entry.get("l0_sweep", {}).items()
            for p in _restart_points(act, sweep, strength=float(s))]


__all__ = [
    "DATASET_DEPTHS", "DATASETS", "METHODS", "dataset_seed", "table2_datasets", "run_search", "l0_choice", "SWEEP_FIELDS",
    "run_table2", "Comparison", "result_header", "type_entry", "pruning_targets", "best_decoder", "tradeoff_points", "l0_tradeoff_points",
]
