"""``swao search``: search MLPs in the embedding space (Section 3.2) for the Table 2 datasets or
a user's CSV file (:mod:`swao.ours.csv_dataset`), optionally beside the three baselines
(:func:`swao.ours.table2.run_search`), with the book's autoencoders (from its cache), trained
ones or untrained ones; prints the book's Table 2 renderers (:func:`result_tables`) and writes the
found MLPs with ``--out``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from swao.book.autoencoders import book_autoencoders
from swao.book.provenance import provenance
from swao.book.your_data import in_user_units
from swao.method.activations import ACTIVATIONS
from swao.ours.csv_dataset import load_csv
from swao.ours.export import fit_units, save_mlp
from swao.ours.table2 import DATASET_DEPTHS, METHODS, run_search, table2_datasets
from swao.render import tables
from swao.training.checkpoint import load_autoencoder, write_json
from swao.training.config import Config, get_config, network, resolve_device


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
                   ".safetensors; swao.ours.export.load_mlp rebuilds each as an nn.Sequential) here")
    return p


def weights_line(path, meta: dict) -> str:
    """What a loaded autoencoder is, read from its own file's metadata (never from ``--scale``):
    its MLP type, file, steps, batch and MLP passes against the paper's, and its recipe."""
    try:
        c = Config(**meta["config"])
    except (KeyError, TypeError, ValueError):  # a file without its run's whole configuration
        return f"the {meta.get('activation', '?')} autoencoder {path}: {meta.get('steps', '?')} training steps (its file records no configuration)"
    passes, paper = meta["steps"] * c.batch_size, get_config("paper").mlp_passes
    recipe = "the authors' training script" if c.authors_code() else "our recipe" + (f" at width {c.width:g}" if c.width != 1 else "")
    return (f"the {meta['activation']} autoencoder {path}: {meta['steps']:,} of {meta['total_steps']:,} training steps of "
            f"{c.batch_size:,} MLPs ({passes:,} MLP passes, {100 * passes / paper:.3g} % of the paper's {paper / 1e6:.1f} M), {recipe}")


def search_sizes(config: Config) -> str:
    """The search's sizes and its options beyond the paper, in words."""
    opts = ", ".join(f"{k}={v}" for k, v in config.options().items() if k.startswith("search_"))
    return (f"search {config.search_steps:,} steps on {config.search_points:,}-point datasets, {config.restarts} restart(s)"
            + (f"; search options beyond the paper: {opts}" if opts else ""))


def _load_autoencoders(args, activations: list[str], device, config: Config) -> tuple[dict, str | None]:
    """``({activation: model}, what the weights are in words)``; ``None`` for the book's own
    autoencoders of ``--scale`` (its provenance describes them)."""
    if not (args.untrained or args.autoencoder_dir or args.autoencoder):
        found = book_autoencoders(config, activations, device)
        for a, (_, folder) in found.items():
            print(f"{a}: the book's autoencoder {folder}")
        return {a: m for a, (m, _) in found.items()}, None
    if args.untrained:  # the scale's network (its width), freshly initialised
        torch.manual_seed(args.seed)
        return {a: network(config).to(device) for a in activations}, \
            f"freshly initialised (untrained) autoencoders of the {config.scale} scale's network"
    if args.autoencoder_dir:
        root = Path(args.autoencoder_dir)
        paths = {a: root / f"ae-{a}-min-{args.scale}" for a in activations}
        for a, path in paths.items():
            if not path.exists():
                have = sorted(q.name for q in root.iterdir()) if root.is_dir() else []
                raise ValueError(f"no autoencoder for {a!r}: {path} does not exist (found: {have or 'nothing'}); "
                                 f"train one with 'swao train --activation {a} --scale {args.scale}' or pass --autoencoder")
        loaded = {a: load_autoencoder(str(path), device=device) for a, path in paths.items()}
        return {a: m for a, (m, _) in loaded.items()}, "; ".join(weights_line(paths[a], meta) for a, (_, meta) in loaded.items())
    models, lines = {}, []
    for path in args.autoencoder:
        model, meta = load_autoencoder(path, device=device)
        a = meta["activation"]
        if args.activation and a != args.activation:
            raise ValueError(f"{path} is a {a!r} autoencoder, but --activation {args.activation} was given")
        if a in models:
            raise ValueError(f"two autoencoders for {a!r}; give one per MLP type")
        models[a] = model
        lines.append(weights_line(path, meta))
    return models, "; ".join(lines)


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
        models, weights = _load_autoencoders(args, activations, device, config)
        units, name = {}, Path(args.dataset).stem
        if is_csv:  # the search's units: inputs in [-1, 1]^3, outputs in the type's range (swao.ours.export)
            units = {a: fit_units(data, a) for a in models}
            datasets = {a: {name: units[a].dataset(data)} for a in models}
        else:
            names = list(DATASET_DEPTHS) if args.dataset == "all" else [args.dataset]
            datasets = {a: {k: v for k, v in table2_datasets(a, config.search_points, args.seed).items() if k in names} for a in models}
    except (ValueError, FileNotFoundError) as e:
        print(f"swao search: error: {e}", file=sys.stderr)
        return 2
    if args.untrained:
        print("NOTE: freshly initialised (untrained) autoencoders: this demonstrates the pipeline, not the method.")
    results = run_search(models, datasets, config, device, args.seed, progress=True, baselines=args.baselines,
                         eval_every=args.eval_every)
    if is_csv:  # the table in the user's units: each found MLP exported and scored on the file's own test rows
        in_user_units(results, {name: data}, {a: {name: u} for a, u in units.items()})
    results["autoencoders"] = "untrained" if args.untrained else (args.autoencoder_dir or args.autoencoder or "the book's cache")
    results["units"] = {a: u.to_dict() for a, u in units.items()}
    prov = provenance(device, config)
    if weights:  # the weights actually used, from their own files, not the --scale's training sizes
        prov = {**prov, "sizes": f"{weights}; {search_sizes(config)}"}
    results["provenance"] = prov
    table = "\n\n".join(t.to_markdown() for t in result_tables(results, prov, args.baselines, is_csv))
    print(table)
    if args.out:
        write_results(Path(args.out), results, table, units)
    return 0


def write_results(out: Path, results: dict, table: str, units: dict) -> None:
    """``results.json``, ``table2.txt`` and every found MLP as ``mlps/<type>-<dataset>-<D>-<method>``
    (:func:`swao.ours.export.save_mlp`, in the user's units for a CSV), each file written whole."""
    write_json(out / "results.json", results)
    tmp = out / f".table2.txt.{os.getpid()}.tmp"
    tmp.write_text(table + "\n")
    os.replace(tmp, out / "table2.txt")
    first = None
    for act, entry in results["types"].items():
        for method in METHODS:
            for ds, cells in entry.get(method, {}).items():
                for dec, c in cells.items():
                    path = save_mlp(out / "mlps" / f"{act}-{ds}-{dec}-{method}", torch.tensor(c["matrix"]), act,
                                    units.get(act), meta={"dataset": ds, "decoder": dec, "method": method,
                                                          "test_mpe": c["mpe"], "nonzeros": c["nonzeros"]})
                    first = first or path.with_suffix("")
    print(f"wrote {out}/results.json, table2.txt and mlps/*.json + *.safetensors (no pickles). Load one:")
    print(f'  from swao.ours.export import load_mlp; net = load_mlp("{first}"); y = net(torch.tensor([[x1, x2, x3]]))'
          + ("  # in your units" if units else ""))


USER_UNITS = ("Test MPE in your data's units: each found MLP exported (swao.ours.export) and scored on the file's own "
              "test rows; the search's own, on its scaled outputs, is in results.json as mpe_scaled.")


def result_tables(results: dict, prov: dict, baselines: bool, user_units: bool = False) -> list:
    """What ``swao search`` prints: Table 2, the search against the baselines, the spread over
    restarts. ``user_units`` (a CSV search, :func:`swao.book.your_data.in_user_units`): the first
    two say that their MPEs are in the data's own units, and the spread, which only the search's
    scaled units have, is left to ``results.json``."""
    found = [tables.table2(results, prov), *([tables.baselines_table(results, prov)] if baselines else [])]
    if not user_units:
        return [*found, tables.spread_table(results, prov)]
    for t in found:
        t.note = f"{USER_UNITS} {t.note}".strip()
    return found


__all__ = ["cli_main", "result_tables", "write_results", "weights_line", "search_sizes", "USER_UNITS"]
