"""``swao reproduce``: every result of the book at one scale, timed, and exported with provenance.

The results are the cached ones of :mod:`swao.experiments` (six autoencoders, Tables 1-3, Figure
2, the search with both baselines, the embedding and mask-gradient studies). Each stage is
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

STAGES = ("autoencoders", "tables", "figure2", "search", "embedding", "mask_grad")
# `swao reproduce --scale paper` without --full: sized to fit 10 minutes on one H100 (see above)
PAPER_TRIM = {"epochs": 1, "lr_halve_epochs": 0.5, "search_steps": 6_000}
BUDGET_MINUTES = 10.0


def run_config(scale: str, full: bool = False, **overrides) -> Config:
    """The config ``swao reproduce`` runs: the scale's, trimmed at paper scale unless ``full``."""
    trim = PAPER_TRIM if scale == "paper" and not full else {}
    return get_config(scale, **{**trim, **overrides})


def reproduce(scale: str = "small", device="auto", stages=STAGES, export: bool = True, full: bool = False,
              results_dir: str | Path | None = None, fit_budget_s: float | None = None, **overrides) -> dict:
    """Compute every cached result of the book at ``scale`` (printing each stage's time) and
    export each stage, as it ends, to ``results/<scale>/`` with its provenance.

    ``fit_budget_s``: first :func:`plan` the run; if it does not fit that many seconds, run it
    with the plan's smaller training set and search steps instead (the tables then say so)."""
    config = run_config(scale, full, **overrides)
    dev = resolve_device(device)
    bad = set(stages) - set(STAGES)
    if bad:
        raise ValueError(f"stages must be among {STAGES}, got {sorted(bad)}")
    estimate = None
    if fit_budget_s is not None:
        estimate = plan(config, dev, stages, fit_budget_s)
        print(format_plan(estimate), flush=True)
        if not estimate["fits"]:
            config = run_config(scale, full, **{**overrides, **estimate["suggest"]})
    folder = Path(results_dir) if results_dir is not None else ex.results_root() / config.scale
    print(f"[reproduce] {config.scale} scale on {provenance(dev)['hardware']}: {config.describe()}", flush=True)
    work = {
        "autoencoders": lambda: {n: ex.autoencoder(config, n, dev, progress=True)[1] for n in ex.AUTOENCODERS},
        "tables": lambda: {n: ex.mpe_table(config, n, dev) for n in ex.AUTOENCODERS},
        "figure2": lambda: ex.figure2(config, dev),
        "search": lambda: ex.search_results(config, dev, progress=True),
        "embedding": lambda: ex.embedding_study(config, dev),
        "mask_grad": lambda: ex.mask_grad_study(config, dev),
    }
    timings, summary = {}, {}
    for name in STAGES:
        if name not in stages:
            continue
        start = time.perf_counter()
        summary[name] = work[name]()
        timings[name] = time.perf_counter() - start
        print(f"[reproduce] {name}: {timings[name]:.1f} s", flush=True)
        if export:
            write_json(folder / f"{name}.json", summary[name])
            write_json(folder / "run.json", {"config": config.to_dict(), "full": full, "seconds": timings,
                                             "plan": estimate, "provenance": provenance(dev, config)})
    if export:
        print(f"[reproduce] results written to {folder}")
    return summary


# ----------------------------------------------------------------------------- plan
def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _two_point(run, short: int, long: int) -> tuple[float, float]:
    """Fit ``seconds = fixed + per_unit * n`` from runs of ``short`` and ``long`` units (after a
    warm-up run of ``short``, so that start-up costs such as CUDA kernels' autotuning are paid)."""
    run(short)
    t_short, t_long = run(short), run(long)
    per_unit = max(t_long - t_short, 0.0) / (long - short)
    return max(t_short - per_unit * short, 0.0), per_unit


def plan(config: Config, device="auto", stages=STAGES, budget_s: float | None = None,
         calibration_steps: int = 10) -> dict:
    """Estimate the time of ``reproduce`` with ``config`` on ``device`` from short measured runs.

    Training: steps of ``config.batch_size`` MLPs (the per-step cost, from two runs of different
    length). Search: steps of the search and both baselines on one MLP type's three datasets at
    ``config.search_points`` points (untrained autoencoder: the cost does not depend on training).
    Tables and the embedding study: one run each. Returns the estimate per stage (seconds), the
    measured rates and, given ``budget_s``, whether the total fits it and the sizes that would.
    """
    from .metrics import embedding_quality
    from .model import MultiScaleAutoencoder
    from .table2 import run_search, table2_datasets
    from .train import evaluate_mpe, train_autoencoder

    dev = resolve_device(device)
    k = calibration_steps
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"calibration_steps must be a positive int, got {k!r}")
    if budget_s is not None and not budget_s > 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s!r}")
    n_ae = len(ex.AUTOENCODERS) * ("autoencoders" in stages) + ("mask_grad" in stages)
    n_tables = len(ex.AUTOENCODERS) * ("tables" in stages) + ("mask_grad" in stages)
    rates, est = {}, {}

    def train(steps: int) -> float:
        c = config.replace(train_mlps=steps * config.batch_size, epochs=1, val_every=10**9, checkpoint_every=10**9)
        with tempfile.TemporaryDirectory() as tmp:
            return _timed(lambda: train_autoencoder(c, "sigmoid", device=str(dev), out_dir=tmp, progress=False))

    if n_ae:
        fixed, per_step = _two_point(train, 2, 2 + k)
        rates["train_mlps_per_s"] = config.batch_size / per_step if per_step else float("inf")
        n_val = config.total_steps // config.val_every
        # a validation runs val_mlps forward passes: about a third of a training step's MLP each
        per_ae = fixed + per_step * (config.total_steps + n_val * config.val_mlps / (3 * config.batch_size))
        est["autoencoders"] = per_ae * len(ex.AUTOENCODERS) * ("autoencoders" in stages)
        est["mask_grad"] = per_ae * ("mask_grad" in stages)

    torch.manual_seed(config.seed)
    untrained = MultiScaleAutoencoder().to(dev).eval()
    if n_tables or "figure2" in stages:
        evaluate_mpe(untrained, "sigmoid", 8, seed=0, device=dev)  # warm-up
        t_table = _timed(lambda: evaluate_mpe(untrained, "sigmoid", config.eval_mlps, seed=0, device=dev))
        est["tables"] = t_table * len(ex.AUTOENCODERS) * ("tables" in stages)
        est["mask_grad"] = est.get("mask_grad", 0.0) + t_table * ("mask_grad" in stages)
        # Figure 2 decodes FIGURE2_MLPS MLPs of each of the 3 types; a table, 4 x eval_mlps
        est["figure2"] = t_table * 3 * ex.FIGURE2_MLPS / (4 * config.eval_mlps) * ("figure2" in stages)
    if "embedding" in stages:
        t_emb = _timed(lambda: embedding_quality(untrained, "sigmoid", ex.embedding_pairs(config), seed=0,
                                                 grid_points=config.grid_points))
        est["embedding"] = t_emb * 2 * 3  # trained and untrained, three MLP types
    if "search" in stages:
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
        est["search"] = 3 * total  # three MLP types
    est = {s: est[s] for s in STAGES if s in stages and s in est}
    total = sum(est.values())
    return {"config": config.to_dict(), "device": str(dev), "hardware": provenance(dev)["hardware"],
            "seconds": est, "total_seconds": total, "budget_seconds": budget_s,
            "fits": None if budget_s is None else total <= budget_s, "rates": rates,
            "suggest": {} if budget_s is None else _suggest(config, est, budget_s)}


def _suggest(config: Config, est: dict, budget_s: float) -> dict:
    """Sizes that would fit ``budget_s``: training MLPs and search steps cut by one factor."""
    total = sum(est.values())
    scalable = est.get("autoencoders", 0.0) + est.get("mask_grad", 0.0) + est.get("search", 0.0)
    if total <= budget_s or scalable <= 0:
        return {}
    f = max(budget_s - (total - scalable), 0.0) / scalable
    return {"train_mlps": max(config.batch_size, int(config.train_mlps * f) // config.batch_size * config.batch_size),
            "search_steps": max(1, int(config.search_steps * f))}


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
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line
def _overrides(pairs: list[str]) -> dict:
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
    args = parser.parse_args(argv)
    try:
        overrides = _overrides(args.set)
        minutes = args.budget_minutes
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
                  results_dir=args.results_dir, fit_budget_s=minutes * 60 if args.fit else None, **overrides)
    except ValueError as err:
        print(f"swao reproduce: {err}", file=sys.stderr)
        return 2
    return 0
