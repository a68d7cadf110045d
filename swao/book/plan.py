"""``swao reproduce --plan``: the time of a run, estimated from short measured runs of each
stage on the device, and the smaller sizes that would fit a budget (``--fit``)."""
from __future__ import annotations

import math
import tempfile
import time

import torch
from torch import nn

from swao.book.ablations import embedding_pairs
from swao.book.autoencoders import TRAIN_THREADS, autoencoder_cached
from swao.book.parallel import processes_for
from swao.book.provenance import provenance
from swao.book.stages import FIGURE2_MLPS, STAGES, autoencoders_for
from swao.ours.embedding import embedding_quality
from swao.ours.table2 import run_search, table2_datasets
from swao.training.config import Config, cpu_threads, network, resolve_device
from swao.training.evaluation import evaluate_mpe
from swao.training.train import train_autoencoder

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
    the stages are computed from (:data:`swao.book.stages.STAGES`) and the cache does not hold yet."""
    return [ae for ae in autoencoders_for(stages, config) if not autoencoder_cached(config, *ae)]


def training_estimate(config: Config, dev: torch.device, needed: list, k: int, rates: dict) -> dict:
    """Seconds of training the ``needed`` autoencoders (the autoencoders stage's and the mask
    study's own): the per-step cost from two runs of ``2`` and ``2 + k`` steps that stop before
    validating or saving, and a short complete run's fixed cost (start, validation, checkpoint)
    once for the end and once per intermediate checkpoint (an upper bound); in waves of as many
    trainings at once as :func:`swao.book.parallel.processes_for` allows. Adds its rates to ``rates``."""

    def train(steps: int, halt: bool = True) -> float:  # as the book trains one (TRAIN_THREADS on a CPU)
        c = config.replace(train_mlps=(steps + 1) * config.batch_size, epochs=1, val_every=10**9, checkpoint_every=10**9)
        with tempfile.TemporaryDirectory() as tmp, cpu_threads(TRAIN_THREADS, dev):
            return _timed(lambda: train_autoencoder(c, "sigmoid", device=str(dev), out_dir=tmp, progress=False,
                                                    steps=steps, halt_at_step=steps if halt else None), dev)

    _, per_step = _two_point(train, 2, 2 + k)
    fixed = max(train(2, halt=False) - 2 * per_step, 0.0)  # start, final validation and checkpoint
    rates["train_mlps_per_s"] = config.batch_size / per_step if per_step else float("inf")
    n_val = config.total_steps // config.val_every
    n_ckpt = config.total_steps // config.checkpoint_every
    # a validation runs val_mlps forward passes: about a third of a training step's MLP each
    per_ae = fixed * (1 + n_ckpt) + per_step * (config.total_steps + n_val * config.val_mlps / (3 * config.batch_size))
    # trained several at once (swao.book.reproduce.train_at_once): in waves
    at_once = processes_for(dev, len(needed))
    per_ae *= math.ceil(len(needed) / at_once) / len(needed)
    rates["trainings_at_once"] = at_once
    book = set(autoencoders_for(["autoencoders"], config))  # the rest: the mask_grad study's own
    return {"autoencoders": per_ae * sum(ae in book for ae in needed),
            "mask_grad": per_ae * sum(ae not in book for ae in needed)}


def scoring_estimate(config: Config, dev: torch.device, stages, untrained: nn.Module) -> dict:
    """Seconds of the stages that score trained autoencoders: one MPE table timed (tables, the
    mask study's tables, Figure 2) and one embedding study."""
    est = {}
    if {"tables", "mask_grad", "figure2"} & set(stages):
        evaluate_mpe(untrained, "sigmoid", 8, seed=0, device=dev)  # warm-up
        t_table = _timed(lambda: evaluate_mpe(untrained, "sigmoid", config.eval_mlps, seed=0, device=dev), dev)
        est["tables"] = t_table * len(STAGES["tables"]) * ("tables" in stages)
        est["mask_grad"] = len(STAGES["mask_grad"]) * t_table * ("mask_grad" in stages)
        # Figure 2 decodes FIGURE2_MLPS MLPs of each of its autoencoders' types; a table, 4 x eval_mlps
        est["figure2"] = t_table * len(STAGES["figure2"]) * FIGURE2_MLPS / (4 * config.eval_mlps) * ("figure2" in stages)
    if "embedding" in stages:
        t_emb = _timed(lambda: embedding_quality(untrained, "sigmoid", embedding_pairs(config), seed=0,
                                                 grid_points=config.grid_points), dev)
        est["embedding"] = t_emb * 2 * len(STAGES["embedding"])  # trained and untrained, per MLP type
    return est


def search_estimate(config: Config, dev: torch.device, stages, untrained: nn.Module, k: int, rates: dict) -> dict:
    """Seconds of the search stage and the your-data page (three datasets too): steps of the
    search and the baselines on one MLP type's three datasets at ``config.search_points`` points,
    timed at ``k`` and ``3k`` steps (an untrained autoencoder: the cost does not depend on
    training). Adds each method's ms per step to ``rates``."""
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
    return {"search": len(STAGES["search"]) * total * ("search" in stages),  # one autoencoder per MLP type
            "your_data": len(STAGES["your_data"]) * total * ("your_data" in stages)}  # 3 datasets per type too


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
    dev = resolve_device(device)
    k = calibration_steps if calibration_steps is not None else (50 if dev.type == "cuda" else 10)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"calibration_steps must be a positive int, got {k!r}")
    if budget_s is not None and not budget_s > 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s!r}")
    needed = autoencoders_needed(config, stages)
    rates, est = {"autoencoders_to_train": len(needed)}, {}
    if needed:
        est.update(training_estimate(config, dev, needed, k, rates))
    torch.manual_seed(config.seed)
    untrained = network(config).to(dev).eval()  # the scale's network
    for stage, seconds in scoring_estimate(config, dev, stages, untrained).items():  # the mask study: its training too
        est[stage] = est.get(stage, 0.0) + seconds
    if {"search", "your_data"} & set(stages):
        est.update(search_estimate(config, dev, stages, untrained, k, rates))
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


__all__ = ["MIN_FIT_FRACTION", "autoencoders_needed", "plan", "format_plan"]
