"""``swao reproduce``: every result of the book at one scale, timed, and exported with provenance.

The results are the cached ones of :mod:`swao.book.experiments` (six autoencoders, Tables 1-3, Figure
2, the search with its three baselines, the embedding and mask-gradient studies). Each stage is
exported as soon as it is done to ``results/<scale>/<stage>.json``, with ``run.json`` naming the
sizes, the device and each stage's time: committed, they appear in the book beside the CPU-scale
results.

**Sized for one GPU.** The paper's sizes (3.2 M MLPs x 4 epochs per autoencoder, 30,000 search
steps) would need at least 64 M training MLPs for the five autoencoders alone: over 10 minutes at
the 100,000 MLPs/s an H100 is asked for. ``swao reproduce --scale paper`` therefore runs the
paper's config with :data:`PAPER_TRIM` (1 epoch, lr halved at its middle as the paper's halving at
2 of 4 epochs; 6,000 search steps), and every table it makes says so (``provenance["sizes"]``).
``--full`` runs the paper's sizes unchanged; ``--set key=value`` changes any size.

**Plan before spending** (:mod:`swao.book.plan`). ``--plan`` measures a few steps of each stage on the device (training
steps, search and baseline steps, one MPE table, one embedding study) and prints the estimated
time of the whole run against ``--budget-minutes``, with the sizes that would fit, then stops.
``--fit`` plans, then runs, with those smaller sizes if the planned run would not fit.
"""
from __future__ import annotations

import time
from pathlib import Path

from swao.book import experiments as ex
from swao.book.autoencoders import TRAIN_THREADS
from swao.book.cache import write_json
from swao.book.provenance import provenance
from swao.book.parallel import at_once, processes_for
from swao.book.plan import format_plan, plan
from swao.book.stages import STAGES as _STAGES
from swao.method.activations import ACTIVATIONS
from swao.training.config import Config, get_config, resolve_device

STAGES = tuple(_STAGES)  # declared once, with what each is computed from, in swao.book.stages
# `swao reproduce --scale paper` without --full: sized to fit 10 minutes on one H100 (see above)
PAPER_TRIM = {"epochs": 1, "lr_halve_epochs": 0.5, "search_steps": 6_000}
BUDGET_MINUTES = 10.0


def run_config(scale: str, full: bool = False, **overrides) -> Config:
    """The config ``swao reproduce`` runs: the scale's, trimmed at paper scale unless ``full``."""
    trim = PAPER_TRIM if scale == "paper" and not full else {}
    return get_config(scale, **{**trim, **overrides})


def train_one(config: Config, name: str, mask_grad: str, progress: bool) -> float:
    """One autoencoder trained into the cache (a job of :func:`train_at_once`); its training seconds."""
    return ex.autoencoder_result(config, name, "cpu", mask_grad=mask_grad, progress=progress)["train_seconds"]


def train_at_once(config: Config, device, stages, progress: bool = True) -> int:
    """Train the autoencoders that ``stages`` are computed from and the cache lacks, several at
    once on a CPU (:func:`swao.book.parallel.at_once`, one per core), each on
    :data:`~swao.book.autoencoders.TRAIN_THREADS` threads: the numbers of a training alone.
    Returns how many were trained so; on a GPU, none (the stages train theirs one by one)."""
    todo = [(n, mg) for n, mg in ex.autoencoders_for(stages, config) if not ex.autoencoder_cached(config, n, mg)]
    processes = processes_for(device, len(todo))
    if processes < 2:
        return 0
    if progress:
        print(f"[reproduce] training {len(todo)} autoencoders, {processes} at once on {TRAIN_THREADS} thread(s) each", flush=True)
    at_once([(train_one, config, n, mg, progress) for n, mg in todo], processes)
    return len(todo)


def your_data_part(config: Config, progress: bool) -> None:
    """The your-data page's search into the cache (a job of :func:`search_at_once`)."""
    ex.your_data_results(config, "cpu", progress=progress)


def search_at_once(config: Config, device, stages, progress: bool = True) -> int:
    """The searches that ``stages`` compute and the cache lacks (Table 2's, one job per MLP type,
    and the your-data page's), side by side on a CPU (:func:`swao.book.parallel.at_once`, one
    per core), each on :data:`~swao.book.searches.SEARCH_THREADS` threads: the numbers of a
    search alone. Returns how many jobs ran so; on a GPU, none (the stages run theirs)."""
    table2 = "search" in stages and not ex.search_cached(config)
    jobs = ([(your_data_part, config, progress)] if "your_data" in stages and not ex.your_data_cached(config) else []) \
        + (ex.search_jobs(config, "cpu", progress) if table2 else [])
    processes = processes_for(device, len(jobs))
    if processes < 2:
        return 0
    if progress:
        print(f"[reproduce] {len(jobs)} searches (Table 2's MLP types, the your-data page), {processes} at once", flush=True)
    done = at_once(jobs, processes)
    if table2:
        ex.search_results(config, device, progress=progress, parts=done[-len(ACTIVATIONS):])
    return len(jobs)


def fitted_config(scale: str, full: bool, dev, stages, fit_budget_s: float | None, overrides: dict) -> tuple[Config, dict | None]:
    """The config a run uses, and its plan: the scale's (:func:`run_config`), or, with
    ``fit_budget_s`` and a :func:`plan` that does not fit it, the plan's smaller training set and
    search steps (the tables then say so). A run that cannot fit at all is refused."""
    config = run_config(scale, full, **overrides)
    if fit_budget_s is None:
        return config, None
    estimate = plan(config, dev, stages, fit_budget_s)
    print(format_plan(estimate), flush=True)
    if estimate["cannot_fit"]:
        raise ValueError(estimate["cannot_fit"])
    if not estimate["fits"]:
        config = run_config(scale, full, **{**overrides, **estimate["suggest"]})
    return config, estimate


def stage_result(stage: str, config: Config, dev, progress: bool, save) -> dict:
    """One stage of the book computed (or read from the cache): first the autoencoders it is
    computed from, each with its progress bar, so that no training happens unseen inside a later
    computation (the autoencoders stage is exactly this, saved one by one with ``save(stage,
    done)``: a run stopped midway keeps what it trained); then what the stage computes from them."""
    done = {}
    for n, mg in ex.STAGES[stage]:
        done[n] = ex.autoencoder_result(config, n, dev, mask_grad=mg, progress=progress)
        if stage == "autoencoders":
            save(stage, done)
    if stage == "autoencoders":
        return done
    if stage == "tables":
        tables = {}
        for n, mg in ex.STAGES["tables"]:
            begin = time.perf_counter()
            tables[n] = ex.mpe_table(config, n, dev, mask_grad=mg)
            if progress:
                print(f"[reproduce]   table of {n}: {time.perf_counter() - begin:.1f} s", flush=True)
        return tables
    computed = {  # what each other stage computes once its autoencoders are trained
        "figure2": lambda: ex.figure2(config, dev),
        "search": lambda: ex.search_results(config, dev, progress=progress),
        "embedding": lambda: ex.embedding_study(config, dev),
        "mask_grad": lambda: ex.mask_grad_study(config, dev),
        "your_data": lambda: ex.your_data_results(config, dev, progress=progress),
    }
    assert set(computed) | {"autoencoders", "tables"} == set(STAGES), "every declared stage has its computation"
    return computed[stage]()


def reproduce(scale: str = "small", device="auto", stages=STAGES, export: bool | str | Path = True, full: bool = False,
              fit_budget_s: float | None = None, progress: bool = True, **overrides) -> dict:
    """Compute every cached result of the book at ``scale`` (printing each stage's time) and
    export each stage, as it ends, with its provenance: to ``results/<scale>/`` (``export=True``),
    to another folder (``export=`` its path), or nowhere (``False``: the book's build, which reads
    the cache). ``fit_budget_s``: first :func:`plan` the run, and fit it (:func:`fitted_config`)."""
    dev = resolve_device(device)
    stages = ex.check_stages(stages)
    config, estimate = fitted_config(scale, full, dev, stages, fit_budget_s, overrides)
    folder = None if export is False else ex.results_root() / config.scale if export is True else Path(export)
    prov = provenance(dev, config)  # of the whole run: its start
    print(f"[reproduce] {config.scale} scale on {prov['hardware']}: {config.describe()}", flush=True)
    timings, summary = {}, {}

    def run_json(error: str | None = None) -> None:
        write_json(folder / "run.json", {"config": config.to_dict(), "full": full, "seconds": timings, "plan": estimate,
                                         "error": error, "provenance": prov})

    def save(name: str, data: dict) -> None:
        if folder is not None:
            write_json(folder / f"{name}.json", data)
            run_json()

    begin_run = time.perf_counter()
    for name in stages:
        start = time.perf_counter()
        try:
            if name == stages[0]:  # every stage's autoencoders, several at once where the CPU allows: timed with the first
                train_at_once(config, dev, stages, progress)
            if name == next((s for s in stages if s in ("search", "your_data")), None):  # the searches likewise
                search_at_once(config, dev, stages, progress)
            summary[name] = stage_result(name, config, dev, progress, save)
        except Exception as err:  # say in run.json where the run stopped and why, then stop
            timings[name] = time.perf_counter() - start
            if folder is not None:
                run_json(f"{name}: {type(err).__name__}: {err}")
            raise
        timings[name] = time.perf_counter() - start
        print(f"[reproduce] {name}: {timings[name]:.1f} s", flush=True)
        save(name, summary[name])
    print(format_timings(timings, time.perf_counter() - begin_run), flush=True)
    if folder is not None:
        print(f"[reproduce] results written to {folder}")
    return summary


def format_timings(timings: dict, total: float) -> str:
    """The stage times of a run as a short table (a stage found in the cache takes ~0 s)."""
    lines = ["[reproduce] stage times:"] + [f"[reproduce]   {s:<13}{t:>9.1f} s" for s, t in timings.items()]
    return "\n".join(lines + [f"[reproduce]   {'total':<13}{total:>9.1f} s"])
