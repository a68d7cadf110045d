"""The Table 2 experiment (Section 4.2) and the ``swao search`` command.

Section 4.2 searches, for each MLP type, the three datasets made by a sparse target MLP with 2,
3 and 4 hidden layers (14, 35 and 48 non-zeros) with every decoder ``D1..D4``, and reports the
test MPE (eq. 7) and non-zero count of the found MLPs (Table 2). Here, beside the search
(:func:`swao.search.search`, eq. 4-6), the same datasets also go through the two baselines of
:mod:`swao.baselines`; ``swao search`` prints :func:`result_tables` (the renderers of
:mod:`swao.tables`, as in the book).

The command line searches the Table 2 datasets or a user's CSV file (:mod:`swao.csv_dataset`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import tables
from .baselines import dense_then_prune, direct_sparse
from .cache import provenance
from .config import Config, get_config, resolve_device
from .csv_dataset import load_csv
from .activations import ACTIVATIONS, check_activation
from .generation import TARGET_NONZEROS, target_dataset
from .representation import to_sequential
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
    method in ``search``, ``direct``, ``pruned`` (see :meth:`swao.optimise.Result.summary` for a cell).
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
            entry.update(direct=a.summary(names), pruned=b.summary(names))
            entry["seconds"].update(direct=a.seconds, pruned=b.seconds)
        results["types"][act] = entry
    return results


def run_table2(autoencoders: dict, config: Config, device="cpu", seed: int = 0, progress: bool = True,
               baselines: bool = True) -> dict:
    """Table 2 (Section 4.2) with both baselines: the 3 datasets of each MLP type in
    ``autoencoders`` (``{activation: model}``), ``config.search_points`` points each,
    ``config.search_steps`` steps, ``config.restarts`` restarts. Plain data (JSON-ready)."""
    datasets = {act: table2_datasets(act, config.search_points, seed) for act in autoencoders}
    return run_search(autoencoders, datasets, config, device, seed, progress, baselines)


# ---------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swao search",
        description="Search MLPs in the embedding space (Section 3.2, eq. 4-6), batched over datasets, "
        "decoders D1..D4 and restarts; optionally beside two baselines (direct sparse training, dense+prune).",
        epilog="Table 2 at small scale: swao search --dataset all --autoencoder-dir runs --scale small --baselines",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, help="MLP type (default: from the checkpoint, or all 3)")
    p.add_argument("--dataset", default="all", help="2hl, 3hl, 4hl, all (the Table 2 datasets) or PATH.csv "
                   "(3 input columns, 1 output column, header optional)")
    src = p.add_mutually_exclusive_group(required=True)
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
    p.add_argument("--baselines", action="store_true", help="also run direct sparse training and dense+prune")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's; 1 is faster on a busy machine)")
    p.add_argument("--out", metavar="DIR", help="write results.json, table2.txt and the MLPs (nn.Sequential, .pt) here")
    return p


def _load_autoencoders(args, activations: list[str], device) -> dict:
    from .model import MultiScaleAutoencoder

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
        models = _load_autoencoders(args, activations, device)
        if args.dataset == "all" or args.dataset in DATASET_DEPTHS:
            names = list(DATASET_DEPTHS) if args.dataset == "all" else [args.dataset]
            datasets = {a: {k: v for k, v in table2_datasets(a, config.search_points, args.seed).items() if k in names} for a in models}
        elif args.dataset.lower().endswith(".csv"):
            data = load_csv(args.dataset, args.seed)
            datasets = {a: {Path(args.dataset).stem: data} for a in models}
        else:
            raise ValueError(f"--dataset must be 2hl, 3hl, 4hl, all or a .csv file, got {args.dataset!r}")
    except ValueError as e:
        print(f"swao search: error: {e}", file=sys.stderr)
        return 2
    if args.untrained:
        print("NOTE: freshly initialised (untrained) autoencoders: this demonstrates the pipeline, not the method.")
    results = run_search(models, datasets, config, device, args.seed, progress=True, baselines=args.baselines,
                         eval_every=args.eval_every)
    results["autoencoders"] = "untrained" if args.untrained else (args.autoencoder_dir or args.autoencoder)
    prov = provenance(device, config)
    table = "\n\n".join(t.to_markdown() for t in result_tables(results, prov, args.baselines))
    print(table)
    if args.out:
        out = Path(args.out)
        (out / "mlps").mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results))
        (out / "table2.txt").write_text(table + "\n")
        for act, entry in results["types"].items():
            for method in tables.METHODS:
                for ds, cells in entry.get(method, {}).items():
                    for dec, c in cells.items():
                        seq = to_sequential(torch.tensor(c["matrix"]), act)
                        torch.save(seq, out / "mlps" / f"{act}-{ds}-{dec}-{method}.pt")
        print(f"wrote {out}/results.json, table2.txt and mlps/*.pt (torch.load(..., weights_only=False))")
    return 0


def result_tables(results: dict, prov: dict, baselines: bool) -> list:
    """What ``swao search`` prints: Table 2, the search against the baselines, the spread."""
    return [tables.table2(results, prov), *([tables.baselines_table(results, prov)] if baselines else []),
            tables.spread_table(results, prov)]


__all__ = [
    "DATASET_DEPTHS", "dataset_seed", "table2_datasets", "run_search", "run_table2", "result_tables", "cli_main",
]
