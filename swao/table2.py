"""The Table 2 experiment (Section 4.2) and the ``swao search`` command.

Section 4.2 searches, for each MLP type, the three datasets made by a sparse target MLP with 2,
3 and 4 hidden layers (14, 35 and 48 non-zeros) with every decoder ``D1..D4``, and reports the
test MPE (eq. 7) and non-zero count of the found MLPs (Table 2). Here, beside the search
(:func:`swao.search.search`, eq. 4-6), the same datasets also go through the three baselines of
:mod:`swao.baselines`; ``swao search`` prints :func:`result_tables` (the renderers of
:mod:`swao.tables`, as in the book).

The command line searches the Table 2 datasets or a user's CSV file (:mod:`swao.csv_dataset`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from . import tables
from .baselines import dense_then_prune, direct_sparse, l0_gates
from .cache import provenance
from .config import Config, get_config, resolve_device
from .csv_dataset import load_csv
from .export import fit_units, save_mlp
from .activations import ACTIVATIONS, check_activation
from .generation import TARGET_NONZEROS, target_dataset
from .search import search

DATASET_DEPTHS = {f"{L}hl": L for L in TARGET_NONZEROS}  # "2hl": 2, "3hl": 3, "4hl": 4 (titles: tables.DATASETS)


# ---------------------------------------------------------------- the datasets of Table 2
def dataset_seed(activation: str, depth: int, seed: int) -> int:
    """Seed of the target MLP behind the ``depth``-hidden-layer dataset of one MLP type."""
    return 1000 * seed + 10 * ACTIVATIONS.index(check_activation(activation)) + depth


def table2_datasets(activation: str, n_points: int, seed: int = 0) -> dict[str, dict]:
    """The 3 search datasets of one MLP type (Section 4.2): ``{"2hl": ..., "3hl": ..., "4hl": ...}``."""
    return {name: target_dataset(L, activation, dataset_seed(activation, L, seed), n_points) for name, L in DATASET_DEPTHS.items()}


# ---------------------------------------------------------------- Table 2, beside the baselines


def run_search(
    autoencoders: dict, datasets: dict[str, dict[str, dict]], config: Config, device="cpu", seed: int = 0,
    progress: bool = True, baselines: bool = True, eval_every: int | None = None,
) -> dict:
    """Search (and the baselines) for ``datasets[activation][name]`` with ``autoencoders[activation]``.

    Returns plain, JSON-ready data: ``results["types"][activation][method][dataset]["D<j>"]`` with
    method in ``search``, ``direct``, ``pruned``, ``l0`` (see :meth:`swao.optimise.Result.summary`
    for a cell). ``l0`` holds, per cell, the swept strength whose non-zero count is nearest the
    search's (:func:`l0_choice`); ``l0_sweep`` every strength's MPE and counts.
    """
    device = resolve_device(device)
    steps, R = config.search_steps, config.restarts
    results: dict = {"config": config.to_dict(), "seed": seed, "device": str(device), "steps": steps,
                     "restarts": R, "baselines": baselines, "types": {}}
    for act, model in autoencoders.items():
        names = list(datasets[act])
        data = [datasets[act][k] for k in names]
        say = (lambda m: f"{act} {m}") if progress else (lambda m: False)
        if progress:
            print(f"{tables.TYPE_NAMES[act]}: {len(names)} dataset(s) x 4 decoders x {R} restart(s), {steps} steps", flush=True)
        s = search(model.to(device), data, act, steps, R, seed=seed, eval_every=eval_every, progress=say("search"),
                   start=config.search_start, masks=config.search_masks, penalty=config.search_penalty,
                   keep_layers=config.search_keep_layers)
        entry = {"search": s.summary(names), "seconds": {"search": s.seconds}}
        if baselines:
            a = direct_sparse(data, act, steps, R, seed=seed + 1, eval_every=eval_every, device=device, progress=say("direct sparse"))
            targets = s.nonzeros.gather(-1, s.best_restart()[..., None]).squeeze(-1)
            b = dense_then_prune(data, act, steps, targets, R, seed=seed + 2, eval_every=eval_every, device=device,
                                 progress=say("dense+prune"))
            # one run per strength: the sweep's strengths take the place of the restarts (the book's budget)
            c = l0_gates(data, act, steps, restarts=1, seed=seed + 3, eval_every=eval_every, device=device,
                         progress=say("L0 gates"))
            entry.update(direct=a.summary(names), pruned=b.summary(names), **l0_choice(c, names, entry["search"]))
            entry["seconds"].update(direct=a.seconds, pruned=b.seconds, l0=next(iter(c.values())).seconds)
        results["types"][act] = entry
    return results


SWEEP_FIELDS = ("mpe", "nonzeros", "mpe_all", "nonzeros_all", "best_restart")


def l0_choice(sweep: dict, names: list[str], searched: dict) -> dict:
    """``{"l0": cells, "l0_sweep": {strength: slim cells}}`` from :func:`swao.baselines.l0_gates`'s
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


# ---------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swao search",
        description="Search MLPs in the embedding space (Section 3.2, eq. 4-6), batched over datasets, "
        "decoders D1..D4 and restarts; optionally beside three baselines (direct sparse training, dense+prune, "
        "L0 gates).",
        epilog="After `make book`: swao search --dataset PATH.csv --scale small --out found  (the book's autoencoders "
        "from its cache; Table 2 at small scale: swao search --dataset all --scale small --baselines)",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, help="MLP type (default: from the checkpoint, or all 3)")
    p.add_argument("--dataset", default="all", help="2hl, 3hl, 4hl, all (the Table 2 datasets) or PATH.csv "
                   "(3 input columns, 1 output column, header optional)")
    src = p.add_mutually_exclusive_group()  # none given: the book's autoencoders of --scale, from its cache
    src.add_argument("--autoencoder", action="append", metavar="CKPT",
                     help="a trained autoencoder (its MLP type is read from it); repeat for several types")
    src.add_argument("--autoencoder-dir", metavar="DIR", help="use DIR/ae-<activation>-min-<scale> for each MLP type")
    src.add_argument("--untrained", action="store_true",
                     help="freshly initialised autoencoders (a demonstration of the pipeline, not of the method)")
    p.add_argument("--scale", default="small", help="smoke, small or paper: points, steps, restarts (default small)")
    p.add_argument("--steps", type=int, help="search steps (default: the scale's)")
    p.add_argument("--restarts", type=int, help="restarts per (dataset, decoder) (default: the scale's)")
    p.add_argument("--points", type=int, help="points per generated dataset before the 5:3:2 split (default: the scale's)")
    p.add_argument("--eval-every", type=int, help="steps between validation checks (default: steps/200)")
    p.add_argument("--baselines", action="store_true", help="also run direct sparse training, dense+prune and the L0 gates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's; 1 is faster on a busy machine)")
    p.add_argument("--out", metavar="DIR", help="write results.json, table2.txt and the found MLPs (mlps/NAME.json + "
                   ".safetensors; swao.export.load_mlp rebuilds each as an nn.Sequential) here")
    return p


def book_autoencoders(config: Config, activations: list[str], device) -> dict:
    """The min-loss autoencoders that ``make book`` (or ``swao reproduce``) trained at ``config``'s
    scale, from the cache: ``{activation: (model, folder)}``; a clear error where one is missing."""
    from . import experiments
    from .cache import cache_root

    missing = [a for a in activations if not experiments.autoencoder_cached(config, experiments.MIN_LOSS[a])]
    if missing:
        raise ValueError(f"no trained {', '.join(map(repr, missing))} autoencoder of scale {config.scale!r} in the cache "
                         f"{cache_root()} (trained by this version of swao): run 'make book' (scale small) or "
                         f"'swao reproduce --scale {config.scale}', or pass --autoencoder CKPT / --autoencoder-dir DIR")
    found = {}
    for a in activations:
        name = experiments.MIN_LOSS[a]
        model, result = experiments.autoencoder(config, name, device, progress=False)
        found[a] = (model, experiments.autoencoder_folder(config, name))
    return found


def _load_autoencoders(args, activations: list[str], device, config: Config) -> dict:
    from .model import MultiScaleAutoencoder

    if not (args.untrained or args.autoencoder_dir or args.autoencoder):
        found = book_autoencoders(config, activations, device)
        for a, (_, folder) in found.items():
            print(f"{a}: the book's autoencoder {folder}")
        return {a: m for a, (m, _) in found.items()}
    if args.untrained:
        torch.manual_seed(args.seed)
        return {a: MultiScaleAutoencoder().to(device) for a in activations}
    if args.autoencoder_dir:
        root = Path(args.autoencoder_dir)
        paths = {a: root / f"ae-{a}-min-{args.scale}" for a in activations}
        for a, path in paths.items():
            if not path.exists():
                have = sorted(q.name for q in root.iterdir()) if root.is_dir() else []
                raise ValueError(f"no autoencoder for {a!r}: {path} does not exist (found: {have or 'nothing'}); "
                                 f"train one with 'swao train --activation {a} --scale {args.scale}' or pass --autoencoder")
        from .checkpoint import load_autoencoder

        return {a: load_autoencoder(str(path), device=device)[0] for a, path in paths.items()}
    from .checkpoint import load_autoencoder

    models = {}
    for path in args.autoencoder:
        model, meta = load_autoencoder(path, device=device)
        a = meta["activation"]
        if args.activation and a != args.activation:
            raise ValueError(f"{path} is a {a!r} autoencoder, but --activation {args.activation} was given")
        if a in models:
            raise ValueError(f"two autoencoders for {a!r}; give one per MLP type")
        models[a] = model
    return models


def cli_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        overrides = {k: v for k, v in (("search_steps", args.steps), ("restarts", args.restarts),
                                         ("search_points", args.points), ("seed", args.seed)) if v is not None}
        config = get_config(args.scale, **overrides)
        device = resolve_device(args.device)
        activations = [args.activation] if args.activation else list(ACTIVATIONS)
        is_csv = args.dataset.lower().endswith(".csv")
        if not (is_csv or args.dataset == "all" or args.dataset in DATASET_DEPTHS):
            raise ValueError(f"--dataset must be 2hl, 3hl, 4hl, all or a .csv file, got {args.dataset!r}")
        data = load_csv(args.dataset, args.seed) if is_csv else None  # a bad file stops before any model loads
        models = _load_autoencoders(args, activations, device, config)
        units = {}
        if is_csv:  # the search's units: inputs in [-1, 1]^3, outputs in the type's range (swao.export)
            units = {a: fit_units(data, a) for a in models}
            datasets = {a: {Path(args.dataset).stem: units[a].dataset(data)} for a in models}
        else:
            names = list(DATASET_DEPTHS) if args.dataset == "all" else [args.dataset]
            datasets = {a: {k: v for k, v in table2_datasets(a, config.search_points, args.seed).items() if k in names} for a in models}
    except ValueError as e:
        print(f"swao search: error: {e}", file=sys.stderr)
        return 2
    if args.untrained:
        print("NOTE: freshly initialised (untrained) autoencoders: this demonstrates the pipeline, not the method.")
    results = run_search(models, datasets, config, device, args.seed, progress=True, baselines=args.baselines,
                         eval_every=args.eval_every)
    results["autoencoders"] = "untrained" if args.untrained else (args.autoencoder_dir or args.autoencoder or "the book's cache")
    results["units"] = {a: u.to_dict() for a, u in units.items()}
    prov = provenance(device, config)
    table = "\n\n".join(t.to_markdown() for t in result_tables(results, prov, args.baselines))
    print(table)
    if args.out:
        write_results(Path(args.out), results, table, units)
    return 0


def write_results(out: Path, results: dict, table: str, units: dict) -> None:
    """``results.json``, ``table2.txt`` and every found MLP as ``mlps/<type>-<dataset>-<D>-<method>``
    (:func:`swao.export.save_mlp`, in the user's units for a CSV), each file written whole."""
    from .cache import write_json

    write_json(out / "results.json", results)
    tmp = out / f".table2.txt.{os.getpid()}.tmp"
    tmp.write_text(table + "\n")
    os.replace(tmp, out / "table2.txt")
    first = None
    for act, entry in results["types"].items():
        for method in tables.METHODS:
            for ds, cells in entry.get(method, {}).items():
                for dec, c in cells.items():
                    path = save_mlp(out / "mlps" / f"{act}-{ds}-{dec}-{method}", torch.tensor(c["matrix"]), act,
                                    units.get(act), meta={"dataset": ds, "decoder": dec, "method": method,
                                                          "test_mpe": c["mpe"], "nonzeros": c["nonzeros"]})
                    first = first or path.with_suffix("")
    print(f"wrote {out}/results.json, table2.txt and mlps/*.json + *.safetensors (no pickles). Load one:")
    print(f'  from swao.export import load_mlp; net = load_mlp("{first}"); y = net(torch.tensor([[x1, x2, x3]]))'
          + ("  # in your units" if units else ""))


def result_tables(results: dict, prov: dict, baselines: bool) -> list:
    """What ``swao search`` prints: Table 2, the search against the baselines, the spread."""
    return [tables.table2(results, prov), *([tables.baselines_table(results, prov)] if baselines else []),
            tables.spread_table(results, prov)]


__all__ = [
    "DATASET_DEPTHS", "dataset_seed", "table2_datasets", "run_search", "l0_choice", "SWEEP_FIELDS", "run_table2",
    "result_tables", "book_autoencoders", "write_results", "cli_main",
]
