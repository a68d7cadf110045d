"""``swao reproduce``: every result of the book at one scale, timed, and exported with provenance.

The results are the cached ones of :mod:`swao.experiments` (six autoencoders, Tables 1-3, Figure
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

**Plan before spending.** ``--plan`` measures a few steps of each stage on the device (training
steps, search and baseline steps, one MPE table, one embedding study) and prints the estimated
time of the whole run against ``--budget-minutes``, with the sizes that would fit, then stops.
``--fit`` plans, then runs, with those smaller sizes if the planned run would not fit.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import experiments as ex
from .cache import provenance, write_json
from .config import Config, get_config, resolve_device

STAGES = tuple(ex.STAGES)  # declared once, with what each is computed from, in swao.experiments
# `swao reproduce --scale paper` without --full: sized to fit 10 minutes on one H100 (see above)
PAPER_TRIM = {"epochs": 1, "lr_halve_epochs": 0.5, "search_steps": 6_000}
BUDGET_MINUTES = 10.0


def run_config(scale: str, full: bool = False, **overrides) -> Config:
    """The config ``swao reproduce`` runs: the scale's, trimmed at paper scale unless ``full``."""
    trim = PAPER_TRIM if scale == "paper" and not full else {}
    return get_config(scale, **{**trim, **overrides})


def reproduce(scale: str = "small", device="auto", stages=STAGES, export: bool = True, full: bool = False,
              results_dir: str | Path | None = None, fit_budget_s: float | None = None, progress: bool = True,
              **overrides) -> dict:
    """Compute every cached result of the book at ``scale`` (printing each stage's time) and
    export each stage, as it ends, to ``results/<scale>/`` with its provenance.

    ``fit_budget_s``: first :func:`plan` the run; if it does not fit that many seconds, run it
    with the plan's smaller training set and search steps instead (the tables then say so)."""
    config = run_config(scale, full, **overrides)
    dev = resolve_device(device)
    stages = ex.check_stages(stages)
    estimate = None
    if fit_budget_s is not None:
        estimate = plan(config, dev, stages, fit_budget_s)
        print(format_plan(estimate), flush=True)
        if estimate["cannot_fit"]:
            raise ValueError(estimate["cannot_fit"])
        if not estimate["fits"]:
            config = run_config(scale, full, **{**overrides, **estimate["suggest"]})
    folder = Path(results_dir) if results_dir is not None else ex.results_root() / config.scale
    prov = provenance(dev, config)  # of the whole run: its start
    print(f"[reproduce] {config.scale} scale on {prov['hardware']}: {config.describe()}", flush=True)
    timings, summary = {}, {}

    def run_json(error: str | None = None) -> None:
        write_json(folder / "run.json", {"config": config.to_dict(), "full": full, "seconds": timings, "plan": estimate,
                                         "error": error, "provenance": prov})

    def save(name: str, data: dict) -> None:
        if export:
            write_json(folder / f"{name}.json", data)
            run_json()

    def trained(stage: str) -> dict:
        """Train (or find in the cache) the autoencoders ``stage`` is computed from, each with
        its progress bar, so that no training happens unseen inside a later computation. The
        autoencoders stage is exactly this, exported one by one: a run stopped midway keeps
        what it trained."""
        done = {}
        for n, mg in ex.STAGES[stage]:
            done[n] = ex.autoencoder_result(config, n, dev, mask_grad=mg, progress=progress)
            if stage == "autoencoders":
                save(stage, done)
        return done

    def tables() -> dict:
        done = {}
        for n, mg in ex.STAGES["tables"]:
            begin = time.perf_counter()
            done[n] = ex.mpe_table(config, n, dev, mask_grad=mg)
            if progress:
                print(f"[reproduce]   table of {n}: {time.perf_counter() - begin:.1f} s", flush=True)
        return done

    after_training = {  # what each stage computes once its autoencoders are trained
        "autoencoders": lambda done: done,
        "tables": lambda done: tables(),
        "figure2": lambda done: ex.figure2(config, dev),
        "search": lambda done: ex.search_results(config, dev, progress=progress),
        "embedding": lambda done: ex.embedding_study(config, dev),
        "mask_grad": lambda done: ex.mask_grad_study(config, dev),
        "your_data": lambda done: ex.your_data_results(config, dev, progress=progress),
    }
    assert set(after_training) == set(STAGES), "every declared stage has its computation"
    begin_run = time.perf_counter()
    for name in stages:
        start = time.perf_counter()
        try:
            summary[name] = after_training[name](trained(name))
        except Exception as err:  # say in run.json where the run stopped and why, then stop
            timings[name] = time.perf_counter() - start
            if export:
                run_json(f"{name}: {type(err).__name__}: {err}")
            raise
        timings[name] = time.perf_counter() - start
        print(f"[reproduce] {name}: {timings[name]:.1f} s", flush=True)
        save(name, summary[name])
    print(format_timings(timings, time.perf_counter() - begin_run), flush=True)
    if export:
        print(f"[reproduce] results written to {folder}")
    return summary


def format_timings(timings: dict, total: float) -> str:
    """The stage times of a run as a short table (a stage found in the cache takes ~0 s)."""
    lines = ["[reproduce] stage times:"] + [f"[reproduce]   {s:<13}{t:>9.1f} s" for s, t in timings.items()]
    return "\n".join(lines + [f"[reproduce]   {'total':<13}{total:>9.1f} s"])


# ----------------------------------------------------------------------------- plan
MIN_FIT_FRACTION = 0.05  # --fit refuses to shrink the training set and search steps below 5 %


def _timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _two_point(run, short: int, long: int) -> tuple[float, float]:
    """Fit ``seconds = fixed + per_unit * n`` from runs of ``short`` and ``long`` units (after a
    warm-up run of ``short``, so that start-up costs such as CUDA kernels' autotuning are paid)."""
    run(short)
    t_short, t_long = run(short), run(long)
    per_unit = max(t_long - t_short, 0.0) / (long - short)
    return max(t_short - per_unit * short, 0.0), per_unit


def autoencoders_needed(config: Config, stages) -> list[tuple[str, str]]:
    """``(name, mask_grad)`` of the autoencoders that ``reproduce(stages=...)`` will train: those
    the stages are computed from (:data:`swao.experiments.STAGES`) and the cache does not hold yet."""
    return [ae for ae in ex.autoencoders_for(stages, config) if not ex.autoencoder_cached(config, *ae)]


def plan(config: Config, device="auto", stages=STAGES, budget_s: float | None = None,
         calibration_steps: int | None = None) -> dict:
    """Estimate the time of ``reproduce`` with ``config`` on ``device`` from short measured runs.

    Training: the per-step cost of ``config.batch_size`` MLPs from two runs of different length
    that stop before validating or saving, plus, per autoencoder, a short complete run's fixed
    cost (start, validation, checkpoint) once for the end and once per intermediate checkpoint
    (an upper bound). Only autoencoders the cache lacks count (:func:`autoencoders_needed`).
    Search (and the your-data page, three datasets too): steps of the search and the baselines on
    one MLP type's three datasets at ``config.search_points`` points (untrained autoencoder: the cost does not depend on training).
    Tables and the embedding study: one run each. ``calibration_steps``: default 10 on a CPU, 50
    on a GPU. Returns the estimate per stage (seconds), the measured rates and, given
    ``budget_s``, whether the total fits it and the sizes that would (:func:`_suggest`).
    """
    from .metrics import embedding_quality
    from .model import MultiScaleAutoencoder
    from .table2 import run_search, table2_datasets
    from .evaluation import evaluate_mpe
    from .train import train_autoencoder

    dev = resolve_device(device)
    k = calibration_steps if calibration_steps is not None else (50 if dev.type == "cuda" else 10)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"calibration_steps must be a positive int, got {k!r}")
    if budget_s is not None and not budget_s > 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s!r}")
    needed = autoencoders_needed(config, stages)
    rates, est = {"autoencoders_to_train": len(needed)}, {}

    def train(steps: int, halt: bool = True) -> float:
        c = config.replace(train_mlps=(steps + 1) * config.batch_size, epochs=1, val_every=10**9, checkpoint_every=10**9)
        with tempfile.TemporaryDirectory() as tmp:
            return _timed(lambda: train_autoencoder(c, "sigmoid", device=str(dev), out_dir=tmp, progress=False,
                                                    steps=steps, halt_at_step=steps if halt else None), dev)

    if needed:
        _, per_step = _two_point(train, 2, 2 + k)
        fixed = max(train(2, halt=False) - 2 * per_step, 0.0)  # start, final validation and checkpoint
        rates["train_mlps_per_s"] = config.batch_size / per_step if per_step else float("inf")
        n_val = config.total_steps // config.val_every
        n_ckpt = config.total_steps // config.checkpoint_every
        # a validation runs val_mlps forward passes: about a third of a training step's MLP each
        per_ae = fixed * (1 + n_ckpt) + per_step * (config.total_steps + n_val * config.val_mlps / (3 * config.batch_size))
        book = set(ex.autoencoders_for(["autoencoders"], config))  # the rest: the mask_grad study's own
        est["autoencoders"] = per_ae * sum(ae in book for ae in needed)
        est["mask_grad"] = per_ae * sum(ae not in book for ae in needed)

    torch.manual_seed(config.seed)
    untrained = MultiScaleAutoencoder().to(dev).eval()
    if {"tables", "mask_grad", "figure2"} & set(stages):
        evaluate_mpe(untrained, "sigmoid", 8, seed=0, device=dev)  # warm-up
        t_table = _timed(lambda: evaluate_mpe(untrained, "sigmoid", config.eval_mlps, seed=0, device=dev), dev)
        est["tables"] = t_table * len(ex.STAGES["tables"]) * ("tables" in stages)
        est["mask_grad"] = est.get("mask_grad", 0.0) + len(ex.STAGES["mask_grad"]) * t_table * ("mask_grad" in stages)
        # Figure 2 decodes FIGURE2_MLPS MLPs of each of its autoencoders' types; a table, 4 x eval_mlps
        est["figure2"] = t_table * len(ex.STAGES["figure2"]) * ex.FIGURE2_MLPS / (4 * config.eval_mlps) * ("figure2" in stages)
    if "embedding" in stages:
        t_emb = _timed(lambda: embedding_quality(untrained, "sigmoid", ex.embedding_pairs(config), seed=0,
                                                 grid_points=config.grid_points), dev)
        est["embedding"] = t_emb * 2 * len(ex.STAGES["embedding"])  # trained and untrained, per MLP type
    if {"search", "your_data"} & set(stages):
        data = {"sigmoid": table2_datasets("sigmoid", config.search_points, config.seed)}

        def one_type(steps: int) -> dict:
            c = config.replace(search_steps=steps)
            return run_search({"sigmoid": untrained}, data, c, dev, progress=False, eval_every=steps)["types"]["sigmoid"]["seconds"]

        one_type(2)
        short, long = one_type(k), one_type(3 * k)
        total = 0.0
        for method in short:
            per_step = max(long[method] - short[method], 0.0) / (2 * k)
            rates[f"{method}_ms_per_step"] = 1e3 * per_step
            total += max(short[method] - per_step * k, 0.0) + per_step * config.search_steps
        est["search"] = len(ex.STAGES["search"]) * total * ("search" in stages)  # one autoencoder per MLP type
        est["your_data"] = len(ex.STAGES["your_data"]) * total * ("your_data" in stages)  # 3 datasets per type too
    est = {s: est[s] for s in STAGES if s in est and (s in stages or est[s] > 0)}  # with the training stages need
    total = sum(est.values())
    suggest, why = _suggest(config, est, budget_s) if budget_s is not None else ({}, None)
    return {"config": config.to_dict(), "device": str(dev), "hardware": provenance(dev)["hardware"],
            "seconds": est, "total_seconds": total, "budget_seconds": budget_s,
            "fits": None if budget_s is None else total <= budget_s, "rates": rates,
            "suggest": suggest, "cannot_fit": why}


def _round_down(x: float, digits: int = 2) -> int:
    """``x`` rounded down to ``digits`` significant digits (so that timing noise rarely changes
    the sizes ``--fit`` picks, and with them the cache keys)."""
    if x < 1:
        return 0
    scale = 10 ** max(len(str(int(x))) - digits, 0)
    return int(x) // scale * scale


def _suggest(config: Config, est: dict, budget_s: float) -> tuple[dict, str | None]:
    """Sizes that would fit ``budget_s``: training MLPs and search steps cut by one factor,
    rounded down to two significant digits. ``({}, None)`` if it fits; ``({}, reason)`` if it
    would take cutting them below :data:`MIN_FIT_FRACTION`."""
    total = sum(est.values())
    scalable = est.get("autoencoders", 0.0) + est.get("mask_grad", 0.0) + est.get("search", 0.0)
    if total <= budget_s:
        return {}, None
    f = max(budget_s - (total - scalable), 0.0) / scalable if scalable > 0 else 0.0
    if f < MIN_FIT_FRACTION:
        fixed = {s: round(t) for s, t in est.items() if s not in ("autoencoders", "mask_grad", "search")}
        return {}, (f"fitting {budget_s:.0f} s would cut training and search to {100 * f:.1f} % "
                    f"(less than {100 * MIN_FIT_FRACTION:g} %); the other stages alone take {fixed} s")
    train_mlps = _round_down(config.train_mlps * f) // config.batch_size * config.batch_size
    return {"train_mlps": max(config.batch_size, train_mlps), "search_steps": max(1, _round_down(config.search_steps * f))}, None


def format_plan(p: dict) -> str:
    """The plan as a text table: stage, estimated time; total against the budget; rates."""
    lines = [f"plan on {p['hardware']} ({p['device']}):", f"{'stage':<14}{'estimate':>12}"]
    lines += [f"{s:<14}{t:>10.0f} s" for s, t in p["seconds"].items()]
    verdict = "" if p["fits"] is None else f"  ({'fits' if p['fits'] else 'does NOT fit'} the budget of {p['budget_seconds']:.0f} s)"
    lines.append(f"{'total':<14}{p['total_seconds']:>10.0f} s{verdict}")
    lines += [f"  {name}: {value:,.1f}" for name, value in p["rates"].items()]
    if p["suggest"]:
        sets = " ".join(f"{k}={v}" for k, v in p["suggest"].items())
        lines.append(f"to fit: --set {sets}")
    if p.get("cannot_fit"):
        lines.append(f"cannot fit: {p['cannot_fit']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line
def _overrides(pairs: list[str]) -> dict:
    """``["key=value", ...]`` -> config overrides, typed as the config's fields (a whole float
    such as ``2.0`` becomes ``2``, as the configs write it, so that cache keys match)."""
    fields = Config.__dataclass_fields__
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields or key == "scale":
            allowed = sorted(set(fields) - {"scale"})
            raise ValueError(f"--set takes key=value with key among {allowed}, got {pair!r}")
        kind = int if fields[key].type in ("int", int) else float
        try:
            out[key] = kind(value)
        except ValueError:
            raise ValueError(f"--set {key} must be {'an int' if kind is int else 'a number'}, got {value!r}") from None
        if kind is float and out[key].is_integer():
            out[key] = int(out[key])
    return out


def cli_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swao reproduce", description=reproduce.__doc__)
    parser.add_argument("--scale", default="small", choices=("smoke", "small", "paper"))
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), choices=STAGES)
    parser.add_argument("--full", action="store_true", help="paper scale: the paper's sizes, not trimmed to 10 minutes")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="change a size, e.g. search_steps=3000")
    parser.add_argument("--plan", action="store_true", help="measure a few steps, print the estimated time, stop")
    parser.add_argument("--fit", action="store_true",
                        help="plan first; if the run would overrun the budget, train on fewer MLPs and search fewer steps")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help=f"the budget of --plan and --fit (default: {BUDGET_MINUTES:g} at paper scale or with --fit)")
    parser.add_argument("--results-dir", default=None, help="where to export (default: $SWAO_RESULTS or results/, then <scale>)")
    parser.add_argument("--no-export", action="store_true", help="only fill the cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs)")
    args = parser.parse_args(argv)
    try:
        overrides = _overrides(args.set)
        minutes = args.budget_minutes
        if minutes is not None and not (args.plan or args.fit):
            raise ValueError("--budget-minutes needs --plan or --fit")
        if minutes is None and (args.scale == "paper" or args.fit):
            minutes = BUDGET_MINUTES
        if minutes is not None and not minutes > 0:
            raise ValueError(f"--budget-minutes must be > 0, got {minutes}")
        if args.plan:
            config = run_config(args.scale, args.full, **overrides)
            print(config.describe())
            print(format_plan(plan(config, args.device, args.stages, None if minutes is None else minutes * 60)))
            return 0
        reproduce(args.scale, args.device, args.stages, export=not args.no_export, full=args.full,
                  results_dir=args.results_dir, fit_budget_s=minutes * 60 if args.fit else None,
                  progress=not args.no_progress, **overrides)
    except ValueError as err:
        print(f"swao reproduce: {err}", file=sys.stderr)
        return 2
    return 0
