"""Every result of the book, computed once per configuration and cached (``swao.cache``).

The notebooks call these functions; each returns plain JSON-able data (plus a loaded model
where one is needed), computing it on the first call and reading it from ``cache/`` after.
``swao reproduce --scale S --device D`` (:mod:`swao.reproduce`) computes them all and exports
the small results with their provenance to ``results/<scale>/`` (committed for the paper scale,
made on a GPU), so the book can show a paper-scale result without rerunning it.

The book build computes first, in the foreground (``swao reproduce --no-export`` over the stages
its notebooks read, :data:`NOTEBOOK_STAGES`), then renders with ``SWAO_NO_COMPUTE=1``: a result
missing then stops its notebook with :class:`swao.cache.MissingResult`. A notebook run alone
(papermill with other parameters) computes what is missing, with progress bars in its output.

The five autoencoders of the paper (Section 4.1, Tables 1 and 3):
sigmoid-based with the min loss, p = 0.5 and p = 1; leaky-ReLU- and linear-based with min.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import torch

from . import diagnostics
from .cache import ROOT, cached, has_result, provenance, read_json, result_dir
from .config import Config, resolve_device
from .activations import ACTIVATIONS
from .forward import forward, forward_batch
from .generation import input_grid, random_mlps
from .metrics import embedding_quality, mpe
from .model import MultiScaleAutoencoder, device_of
from .representation import unpad_matrix

# (activation, loss, p): the paper's five autoencoders. Keys name them in results.
AUTOENCODERS = {
    "sigmoid-min": ("sigmoid", "min", None),
    "sigmoid-p0.5": ("sigmoid", "pnorm", 0.5),
    "sigmoid-p1": ("sigmoid", "pnorm", 1.0),
    "leaky_relu-min": ("leaky_relu", "min", None),
    "linear-min": ("linear", "min", None),
}
MIN_LOSS = {"sigmoid": "sigmoid-min", "leaky_relu": "leaky_relu-min", "linear": "linear-min"}
FIGURE2_MLPS = 3  # MLPs per type in Figure 2

# ------------------------------------------------------------------ what depends on what
# The one declaration of the book's results: each stage with the autoencoders, as (name,
# mask_grad), that it is computed from (the search's result holds the baselines, which are
# trained against its non-zero counts). `swao reproduce` (its stages and --plan), the book's
# compute stage (book/build.py) and the fixture the nbval copies render from all read it.
CONFIG_MASK_GRAD = "config"  # in a stage: the scale's own mask_grad (Config.mask_grad)
_ALL = tuple((n, CONFIG_MASK_GRAD) for n in AUTOENCODERS)
_MIN = tuple((MIN_LOSS[a], CONFIG_MASK_GRAD) for a in ACTIVATIONS)
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "autoencoders": _ALL,  # training histories and validation tables (notebook 03)
    "tables": _ALL,  # Tables 1 and 3 with their robust views
    "figure2": _MIN,
    "search": _MIN,  # Table 2, Figures 3-6, the three baselines, the spread over restarts
    "embedding": _MIN,
    "mask_grad": (("sigmoid-min", "none"), ("sigmoid-min", "straight_through")),
    "your_data": tuple((MIN_LOSS[a], CONFIG_MASK_GRAD) for a in ("sigmoid",)),  # YOUR_DATA_TYPES
}
# The notebooks of the book and the stages they read; 00-02 read none (they take seconds).
NOTEBOOK_STAGES: dict[str, tuple[str, ...]] = {
    "03_autoencoder_training": ("autoencoders",),
    "04_mpe_evaluation": ("tables", "figure2"),
    "05_sparse_search": ("search",),
    "06_beyond_the_paper": ("search", "embedding", "mask_grad"),
    "07_does_it_learn": ("tables",),
    "08_findings": ("tables", "search", "embedding"),
    "09_your_data": ("your_data",),
}


def check_stages(stages) -> tuple[str, ...]:
    """``stages`` in :data:`STAGES` order; a clear error for an unknown one or none."""
    stages = tuple(stages)
    bad = sorted(set(stages) - set(STAGES))
    if bad or not stages:
        raise ValueError(f"stages must be one or more of {tuple(STAGES)}, got {bad or 'none'}")
    return tuple(s for s in STAGES if s in stages)


def stages_for(notebooks) -> tuple[str, ...]:
    """The stages that the named notebooks (stems, as in :data:`NOTEBOOK_STAGES`) read."""
    wanted = {s for nb in notebooks for s in NOTEBOOK_STAGES.get(nb, ())}
    return tuple(s for s in STAGES if s in wanted)


def autoencoders_for(stages, config: Config | None = None) -> list[tuple[str, str]]:
    """The ``(name, mask_grad)`` autoencoders that ``stages`` are computed from, sorted; with a
    ``config``, :data:`CONFIG_MASK_GRAD` resolved to its ``mask_grad`` (one autoencoder, not two,
    where a stage names that value itself)."""
    resolve = (lambda mg: mg) if config is None else (lambda mg: resolve_mask_grad(config, mg))  # noqa: E731
    return sorted({(n, resolve(mg)) for s in check_stages(stages) for n, mg in STAGES[s]})


def resolve_mask_grad(config: Config, mask_grad: str) -> str:
    """``mask_grad``, or the scale's own for :data:`CONFIG_MASK_GRAD`."""
    return config.mask_grad if mask_grad == CONFIG_MASK_GRAD else mask_grad


def _autoencoder_parts(config: Config, name: str, mask_grad: str) -> dict:
    activation, loss, p = AUTOENCODERS[name]
    mask_grad = resolve_mask_grad(config, mask_grad)
    # keyed by the training fields only: a change to the search's or the evaluation's sizes keeps it
    return dict(config=config.training_dict(), activation=activation, loss=loss, p=p, mask_grad=mask_grad)


def autoencoder_folder(config: Config, name: str, mask_grad: str = CONFIG_MASK_GRAD) -> Path:
    """The cache folder of one of :data:`AUTOENCODERS` (its checkpoint and history)."""
    return result_dir("autoencoder", **_autoencoder_parts(config, name, mask_grad))


def autoencoder_cached(config: Config, name: str, mask_grad: str = CONFIG_MASK_GRAD) -> bool:
    """Whether the cache already holds one of :data:`AUTOENCODERS`, trained."""
    return has_result("autoencoder", **_autoencoder_parts(config, name, mask_grad))


def autoencoder_result(config: Config, name: str, device="cpu", mask_grad: str = CONFIG_MASK_GRAD,
                       recompute: bool = False, progress: bool = True) -> dict:
    """Train (or read from the cache) one of :data:`AUTOENCODERS`; returns its result: the
    training history, the validation MPE table, the checkpoint's file name and the provenance."""
    from .train import train_autoencoder

    if name not in AUTOENCODERS:
        raise ValueError(f"autoencoder must be one of {list(AUTOENCODERS)}, got {name!r}")
    parts = _autoencoder_parts(config, name, mask_grad)
    activation, loss, p, mask_grad = parts["activation"], parts["loss"], parts["p"], parts["mask_grad"]

    def compute(folder: Path) -> dict:
        dev = resolve_device(device)
        if recompute:  # train anew: a checkpoint left in the folder must not be resumed
            for f in folder.iterdir():
                shutil.rmtree(f) if f.is_dir() else f.unlink()
        start = time.perf_counter()
        out = train_autoencoder(config, activation, loss=loss, p=p, device=str(dev), out_dir=folder,
                                mask_grad=mask_grad, progress=progress, resume=True)  # a killed run goes on
        return {
            "name": name, "activation": activation, "loss": loss, "p": p, "mask_grad": mask_grad,
            "history": out["history"], "val_mpe": out["meta"].get("val_mpe"),
            "checkpoint": Path(out["checkpoint"]).name, "train_seconds": time.perf_counter() - start,
            "provenance": provenance(dev, config),
        }

    return cached("autoencoder", compute, recompute=recompute, **parts)


def autoencoder(config: Config, name: str, device="cpu", mask_grad: str = CONFIG_MASK_GRAD,
                recompute: bool = False, progress: bool = True) -> tuple[MultiScaleAutoencoder, dict]:
    """:func:`autoencoder_result` and the trained model, loaded from its checkpoint in eval mode:
    ``(model, result)``."""
    from .checkpoint import load_autoencoder

    result = autoencoder_result(config, name, device, mask_grad, recompute, progress)
    folder = autoencoder_folder(config, name, mask_grad)
    model, _ = load_autoencoder(folder / result["checkpoint"], device=resolve_device(device))
    model.eval()
    return model, result


def mpe_table(config: Config, name: str, device="cpu", mask_grad: str = CONFIG_MASK_GRAD, recompute: bool = False) -> dict:
    """Table 1 / 3 block of one autoencoder: ``config.eval_mlps`` fresh test MLPs per encoder
    (a seed apart from training and validation), mean per-MLP MPE per decoder x encoder
    (``table``), with the robust views of :func:`swao.evaluation.mpe_summary`, and on the same
    MLPs the floors and the collapse views of :mod:`swao.diagnostics`."""
    from .evaluation import mpe_per_mlp, mpe_summary

    def compute(folder: Path) -> dict:
        model, _ = autoencoder(config, name, device, mask_grad)
        dev = device_of(model)
        start = time.perf_counter()
        act, seed = AUTOENCODERS[name][0], 10_000 + config.seed
        per_mlp = mpe_per_mlp(model, act, config.eval_mlps, seed=seed, device=dev)
        return {"name": name, **mpe_summary(per_mlp), "eval_mlps": config.eval_mlps,
                "floors": diagnostics.floors(act, config.eval_mlps, seed),
                "collapse": diagnostics.collapse(model, act, config.eval_mlps, seed),
                "seconds": time.perf_counter() - start, "provenance": provenance(dev, config)}

    return cached("mpe_table", compute, recompute=recompute, config=config, name=name,
                  mask_grad=resolve_mask_grad(config, mask_grad))


def figure2(config: Config, device="cpu", recompute: bool = False) -> dict:
    """Figure 2: 3 random MLPs per type, the outputs of the input MLP and of its 4 decodings
    (min-loss autoencoder of that type) on the 1,000-point grid, with each decoding's MPE."""

    def compute(folder: Path) -> dict:
        out = {"provenance": provenance(resolve_device(device), config), "types": {}}
        x = input_grid(config.grid_points)
        for k, act in enumerate(ACTIVATIONS):
            model, _ = autoencoder(config, MIN_LOSS[act], device)
            dev = device_of(model)
            # drawn on the CPU, then moved: the same MLPs on every device
            padded, depth = (t.to(dev) for t in random_mlps(FIGURE2_MLPS, act, seed=20_000 + 10 * config.seed + k))
            with torch.no_grad():
                y = forward_batch(padded, depth, x.to(dev), act)
                decoded = model(padded, depth)
                preds = [forward(g, x.to(dev), act) for g in decoded]
            out["types"][act] = [
                {
                    "depth": int(depth[i]),
                    "matrix": unpad_matrix(padded[i], depth[i]).cpu().tolist(),
                    "y": y[i].cpu().tolist(),
                    "decoded": [preds[j][i].cpu().tolist() for j in range(4)],
                    "decoded_matrices": [decoded[j][i].cpu().tolist() for j in range(4)],
                    "mpe": [float(mpe(preds[j][i], y[i])) for j in range(4)],
                }
                for i in range(FIGURE2_MLPS)
            ]
        return out

    return cached("figure2", compute, recompute=recompute, config=config)


def search_results(config: Config, device="cpu", recompute: bool = False, progress: bool = True) -> dict:
    """Table 2 and Figures 3-6: the search and the three baselines on the 9 datasets."""
    from .table2 import run_table2

    def compute(folder: Path) -> dict:
        models = {act: autoencoder(config, MIN_LOSS[act], device)[0] for act in ACTIVATIONS}
        dev = next(models["sigmoid"].parameters()).device
        start = time.perf_counter()
        results = run_table2(models, config, device=dev, seed=config.seed, progress=progress)
        results["seconds"] = time.perf_counter() - start
        results["provenance"] = provenance(dev, config)
        return results

    return cached("search", compute, recompute=recompute, config=config)


def searched_views(results: dict, config: Config, dataset: str) -> list[dict]:
    """What Figures 3, 5, 6 draw for one dataset (``"2hl"``, ``"3hl"``, ``"4hl"``): per MLP type,
    the test points, the target, and each decoder's found MLP's predictions with its test MPE
    and non-zero count. The datasets are regenerated from ``config`` (the search's seeds), the
    MLPs read from ``results`` (:func:`search_results`)."""
    from .table2 import table2_datasets

    views = []
    for act, entry in results["types"].items():
        data = table2_datasets(act, config.search_points, config.seed)[dataset]
        with torch.no_grad():
            found = {dec: {"pred": forward(torch.tensor(c["matrix"]), data["x_test"], act), "mpe": c["mpe"],
                           "nonzeros": c["nonzeros"]} for dec, c in entry["search"][dataset].items()}
        views.append({"activation": act, "dataset": dataset, "x": data["x_test"], "y": data["y_test"], "found": found})
    return views


def dataset_floors(config: Config, activations=ACTIVATIONS) -> dict:
    """The constant and linear floors on every Table 2 dataset (:func:`swao.diagnostics.dataset_floors`),
    ``{activation: {dataset: {name: {"mpe", "parameters"}}}}``: a least-squares fit, computed
    when asked (well under a second), never cached."""
    from .table2 import table2_datasets

    return {act: {ds: diagnostics.dataset_floors(data) for ds, data in table2_datasets(act, config.search_points, config.seed).items()}
            for act in activations}


def search_frames(cell: dict, data: dict, activation: str, max_points: int = 1500) -> list[dict]:
    """One search's snapshots (``cell["frames"]``), each with its exported matrix, the
    predictions on the first ``max_points`` test points, their test MPE and non-zero count."""
    from .representation import nonzero_count

    x, y = data["x_test"][:max_points], data["y_test"][:max_points]
    frames = []
    with torch.no_grad():
        for step, matrix in zip(cell["frames"]["step"], cell["frames"]["matrices"]):
            m = torch.as_tensor(matrix)
            pred = forward(m, x, activation)
            frames.append({"step": step, "matrix": m, "x": x, "y": y, "pred": pred, "mpe": float(mpe(pred, y)),
                           "nonzeros": int(nonzero_count(m))})
    return frames


# ------------------------------------------------------------------ your own data
YOUR_DATA_TYPES = ("sigmoid",)  # the autoencoder the your-data page searches with (STAGES["your_data"])


def your_data_datasets(config: Config, csv: str | Path | None = None, equations=None) -> dict[str, dict]:
    """Datasets in the user's units: a CSV file's (named by its stem, :func:`swao.csv_dataset.load_csv`)
    or, without one, the Feynman equations' (:data:`swao.feynman.BOOK_EQUATIONS` by default),
    ``config.search_points`` points each."""
    from .csv_dataset import load_csv
    from .feynman import BOOK_EQUATIONS, feynman_dataset

    if csv is not None:
        return {Path(csv).stem: load_csv(csv, config.seed)}
    return {e: feynman_dataset(e, config.search_points, config.seed) for e in (equations or BOOK_EQUATIONS)}


def your_data_results(config: Config, device="cpu", csv: str | Path | None = None, equations=None,
                      recompute: bool = False, progress: bool = True) -> dict:
    """The your-data page: each dataset scaled into the search's units (:class:`swao.export.Units`,
    fitted on its training split), searched with the min-loss autoencoder of each type in
    :data:`YOUR_DATA_TYPES` beside the three baselines (:func:`swao.table2.run_search`), with
    the units and each dataset's constant and linear floors. Every cell's ``mpe`` is the test
    MPE of the exported MLP in the user's units (the search's own, on the scaled outputs, is
    ``mpe_scaled``; the scaling is ours, so it must not decide the score). Keyed by the data's
    content."""
    import hashlib

    from .export import exported_sequential, fit_units
    from .feynman import BOOK_EQUATIONS
    from .table2 import run_search
    from .tables import METHODS

    spec = ({"csv_sha256": hashlib.sha256(Path(csv).read_bytes()).hexdigest()} if csv is not None and Path(csv).is_file()
            else {"csv": str(csv)} if csv is not None else {"equations": list(equations or BOOK_EQUATIONS)})

    def compute(folder: Path) -> dict:
        raw = your_data_datasets(config, csv, equations)
        models = {act: autoencoder(config, MIN_LOSS[act], device)[0] for act in YOUR_DATA_TYPES}
        dev = device_of(next(iter(models.values())))
        units = {act: {ds: fit_units(d, act) for ds, d in raw.items()} for act in models}
        data = {act: {ds: units[act][ds].dataset(d) for ds, d in raw.items()} for act in models}
        start = time.perf_counter()
        results = run_search(models, data, config, dev, config.seed, progress)
        for act, entry in results["types"].items():  # every reported MPE in the user's units
            for method in METHODS:
                for ds, cells in entry.get(method, {}).items():
                    for c in cells.values():
                        with torch.no_grad():
                            seq = exported_sequential(torch.tensor(c["matrix"]), act, units[act][ds])
                            m = float(mpe(seq(raw[ds]["x_test"]).squeeze(-1), raw[ds]["y_test"]))
                        c.update(mpe=m if math.isfinite(m) else None, mpe_scaled=c["mpe"], mpe_all_scaled=c.pop("mpe_all"))
        results.update(units={act: {ds: u.to_dict() for ds, u in us.items()} for act, us in units.items()},
                       data={**spec, "csv": None if csv is None else str(csv), "names": list(raw)},
                       # a constant and a least-squares fit commute with the affine scaling: fitted in the user's units
                       floors={act: {ds: diagnostics.dataset_floors(d) for ds, d in raw.items()} for act in models},
                       seconds=time.perf_counter() - start, provenance=provenance(dev, config))
        return results

    return cached("your_data", compute, recompute=recompute, config=config, data=spec, types=list(YOUR_DATA_TYPES))


def your_data_views(results: dict, config: Config, csv: str | Path | None = None, equations=None) -> list[dict]:
    """What the your-data figure draws, in the user's units: per dataset and type, the test
    points' targets and each method's found MLP (its depth chosen by validation loss) as the
    exported ``nn.Sequential`` predicts them, with the test MPE (user's units) and non-zeros."""
    from .export import Units, exported_sequential
    from .tables import METHODS, best_decoder

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
                                "matrix": torch.tensor(c["matrix"]), "strength": c.get("strength")}
            views.append({"activation": act, "dataset": ds, "units": units, "y": d["y_test"], "found": found})
    return views


def embedding_pairs(config: Config) -> int:
    """MLP pairs of the embedding study: twice the test MLPs, within [100, 2000]."""
    return max(100, min(2000, config.eval_mlps * 2))


def embedding_study(config: Config, device="cpu", recompute: bool = False) -> dict:
    """Rank correlation of embedding and functional distances, trained vs untrained encoder."""

    def compute(folder: Path) -> dict:
        n_pairs = embedding_pairs(config)
        out = {"provenance": provenance(resolve_device(device), config), "n_pairs": n_pairs, "types": {}}
        for act in ACTIVATIONS:
            model, _ = autoencoder(config, MIN_LOSS[act], device)
            with torch.random.fork_rng(devices=[]):  # the untrained one of the seed, the global RNG untouched
                torch.manual_seed(config.seed)
                untrained = MultiScaleAutoencoder(width=config.width).to(device_of(model)).eval()
            out["types"][act] = {
                "trained": embedding_quality(model, act, n_pairs, seed=30_000 + config.seed, grid_points=config.grid_points),
                "untrained": embedding_quality(untrained, act, n_pairs, seed=30_000 + config.seed, grid_points=config.grid_points),
            }
        return out

    return cached("embedding", compute, recompute=recompute, config=config)


def mask_grad_study(config: Config, device="cpu", recompute: bool = False) -> dict:
    """The mask-gradient ablation: the sigmoid-based min-loss autoencoder trained with the
    authors' hard masks and with a straight-through estimator; test MPE tables of both."""

    def compute(folder: Path) -> dict:
        out = {"provenance": provenance(resolve_device(device), config), "variants": {}}
        for mg in ("none", "straight_through"):
            _, trained = autoencoder(config, "sigmoid-min", device, mask_grad=mg)
            test = mpe_table(config, "sigmoid-min", device, mask_grad=mg)
            out["variants"][mg] = {
                **{k: test[k] for k in ("table", "best_median", "best_mean")},
                "history": trained["history"],
                "train_seconds": trained["train_seconds"],
            }
        return out

    return cached("mask_grad", compute, recompute=recompute, config=config)


def results_root() -> Path:
    """Where ``swao reproduce`` exports runs: ``$SWAO_RESULTS`` or ``<repo>/results``."""
    return Path(os.environ.get("SWAO_RESULTS", ROOT / "results"))


def exported(scale: str, name: str) -> dict | None:
    """A result exported by :func:`swao.reproduce.reproduce` (e.g. a paper-scale run on a GPU), or ``None``."""
    path = results_root() / scale / f"{name}.json"
    return read_json(path) if path.exists() else None


def exported_config(scale: str, name: str = "run") -> Config | None:
    """The config an exported result of ``scale`` was made with (``run.json``'s by default;
    ``"search"``: the search's own), or ``None``."""
    result = exported(scale, name)
    return None if result is None or "config" not in result else Config(**result["config"])
