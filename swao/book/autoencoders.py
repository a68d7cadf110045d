"""The book's autoencoders and what is read from them alone: each of the paper's five trained
once per configuration and cached (its checkpoint and history), its Table 1/3 block with the
floors and the collapse views, and Figure 2's decodings.

Each function returns plain JSON-able data (plus a loaded model where one is needed), computing
it on the first call and reading it from the cache (:mod:`swao.book.cache`) after.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import torch

from swao.book.cache import cache_root, cached, has_result, result_dir
from swao.book.provenance import provenance
from swao.book.stages import AUTOENCODERS, CONFIG_MASK_GRAD, FIGURE2_MLPS, MIN_LOSS, mlp_type, resolve_mask_grad
from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward, forward_batch
from swao.method.generation import input_grid, random_mlps
from swao.method.metrics import mpe
from swao.method.model import MultiScaleAutoencoder, device_of
from swao.method.representation import unpad_matrix
from swao.training import diagnostics
from swao.training.checkpoint import load_autoencoder
from swao.training.config import Config, cpu_threads, resolve_device
from swao.training.evaluation import mpe_summary, test_seed
from swao.training.spec import autoencoder_spec
from swao.training.train import train_autoencoder


# CPU threads of one book autoencoder's training, wherever it trains: alone, or beside others in
# the compute stage (swao.book.reproduce.train_at_once, one per core: on 2 cores, more MLPs/s than
# one training on both; benchmarks/RESULTS.md, "Book speed"). Fixed, because the thread count changes
# the last bits of the gradients: an autoencoder is the same whichever way it was trained.
TRAIN_THREADS = 1


def autoencoder_parts(config: Config, name: str, mask_grad: str = CONFIG_MASK_GRAD) -> dict:
    """The cache key's parts of one of :data:`AUTOENCODERS`: :func:`swao.training.spec.autoencoder_spec`,
    the function ``swao train`` describes its run with too (the same key for the same training)."""
    if name not in AUTOENCODERS:
        raise ValueError(f"autoencoder must be one of {list(AUTOENCODERS)}, got {name!r}")
    activation, loss, p = AUTOENCODERS[name]
    return autoencoder_spec(config, activation, loss, p, resolve_mask_grad(config, mask_grad))


def autoencoder_folder(config: Config, name: str, mask_grad: str = CONFIG_MASK_GRAD) -> Path:
    """The cache folder of one of :data:`AUTOENCODERS` (its checkpoint and history)."""
    return result_dir("autoencoder", **autoencoder_parts(config, name, mask_grad))


def autoencoder_cached(config: Config, name: str, mask_grad: str = CONFIG_MASK_GRAD) -> bool:
    """Whether the cache already holds one of :data:`AUTOENCODERS`, trained."""
    return has_result("autoencoder", **autoencoder_parts(config, name, mask_grad))


def autoencoder_result(config: Config, name: str, device="cpu", mask_grad: str = CONFIG_MASK_GRAD,
                       recompute: bool = False, progress: bool = True) -> dict:
    """Train (or read from the cache) one of :data:`AUTOENCODERS`; returns its result: the
    training history, the validation MPE table, the checkpoint's file name and the provenance."""
    parts = autoencoder_parts(config, name, mask_grad)
    activation, loss, p, mask_grad = parts["activation"], parts["loss"], parts["p"], parts["mask_grad"]

    def compute(folder: Path) -> dict:
        dev = resolve_device(device)
        if recompute:  # train anew: a checkpoint left in the folder must not be resumed
            for f in folder.iterdir():
                shutil.rmtree(f) if f.is_dir() else f.unlink()
        start = time.perf_counter()
        with cpu_threads(TRAIN_THREADS, dev):
            out = train_autoencoder(config, parts, folder, resume=True, device=str(dev), progress=progress)  # a killed run goes on
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
    result = autoencoder_result(config, name, device, mask_grad, recompute, progress)
    folder = autoencoder_folder(config, name, mask_grad)
    model, _ = load_autoencoder(folder / result["checkpoint"], device=resolve_device(device))
    model.eval()
    return model, result


def table1_block(model: MultiScaleAutoencoder, activation: str, config: Config) -> dict:
    """One trained autoencoder scored as Tables 1 / 3 are, on ``config.eval_mlps`` fresh test MLPs
    per encoder (seed :func:`swao.training.evaluation.test_seed`, apart from training and validation): the mean
    per-MLP MPE per decoder x encoder (``table``), the robust views of
    :func:`swao.training.evaluation.mpe_summary`, and on the same MLPs the floors and the collapse
    views of :mod:`swao.training.diagnostics` (one pass through the model)."""
    seed = test_seed(config.seed)
    per_mlp, shape = diagnostics.views(model, activation, config.eval_mlps, seed, device=device_of(model))
    return {**mpe_summary(per_mlp), "eval_mlps": config.eval_mlps,
            "floors": diagnostics.floors(activation, config.eval_mlps, seed), "collapse": shape}


def train_and_score(config: Config, activation: str = "sigmoid", eval_mlps: int | None = None, eval_seed: int | None = None,
                    mask_grad: str | None = None, **options) -> dict:
    """A study's unit: one autoencoder trained in a scratch folder (min loss; ``options`` as
    :func:`swao.training.train.train_autoencoder` takes them), then scored as Table 1 scores
    (:func:`swao.training.diagnostics.table1_view`) on ``eval_mlps`` test MLPs per encoder (default:
    the config's) of seed ``eval_seed`` (default: :func:`swao.training.evaluation.test_seed` of the
    config's). ``{"train_seconds", "history", "model", **view}``."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = train_autoencoder(config, autoencoder_spec(config, activation, mask_grad=mask_grad), tmp, **options)
        seconds = time.perf_counter() - start
    model = out["model"].eval()
    view = diagnostics.table1_view(model, activation, eval_mlps or config.eval_mlps,
                                   test_seed(config.seed) if eval_seed is None else eval_seed)
    return {"train_seconds": seconds, "history": out["history"], "model": model, **view}


def validation_floors(config: Config, names) -> dict:
    """Per autoencoder name, the floors of its MLP type on the training run's validation MLPs
    (:func:`swao.training.diagnostics.validation_floors`): what its learning curve must get
    below. Seconds to compute, from the config alone: not cached."""
    by_type = {act: diagnostics.validation_floors(config, act) for act in {mlp_type(n) for n in names}}
    return {n: by_type[mlp_type(n)] for n in names}


def mpe_table(config: Config, name: str, device="cpu", mask_grad: str = CONFIG_MASK_GRAD, recompute: bool = False) -> dict:
    """Table 1 / 3 block of one autoencoder: ``config.eval_mlps`` fresh test MLPs per encoder
    (a seed apart from training and validation), mean per-MLP MPE per decoder x encoder
    (``table``), with the robust views of :func:`swao.training.evaluation.mpe_summary`, and on
    the same MLPs the floors and the collapse views of :mod:`swao.training.diagnostics`."""
    def compute(folder: Path) -> dict:
        model, _ = autoencoder(config, name, device, mask_grad)
        start = time.perf_counter()
        block = table1_block(model, AUTOENCODERS[name][0], config)
        return {"name": name, **block, "seconds": time.perf_counter() - start, "provenance": provenance(device_of(model), config)}

    return cached("mpe_table", compute, recompute=recompute, config=config, name=name,
                  mask_grad=resolve_mask_grad(config, mask_grad))


@torch.no_grad()
def figure2_panel(model: MultiScaleAutoencoder, activation: str, config: Config) -> list[dict]:
    """Figure 2's row of one MLP type: :data:`FIGURE2_MLPS` random MLPs (seed fixed by the type
    and ``config.seed``, drawn on the CPU: the same MLPs on every device), the input MLP's output
    on the grid and those of its 4 decodings, with each decoding's MPE."""
    dev = device_of(model)
    x = input_grid(config.grid_points).to(dev)
    k = list(ACTIVATIONS).index(activation)
    padded, depth = (t.to(dev) for t in random_mlps(FIGURE2_MLPS, activation, seed=20_000 + 10 * config.seed + k))
    y = forward_batch(padded, depth, x, activation)
    decoded = model(padded, depth)
    preds = [forward(g, x, activation) for g in decoded]
    return [
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


def figure2(config: Config, device="cpu", recompute: bool = False) -> dict:
    """Figure 2: 3 random MLPs per type, the outputs of the input MLP and of its 4 decodings
    (min-loss autoencoder of that type) on the 1,000-point grid, with each decoding's MPE."""

    def compute(folder: Path) -> dict:
        out = {"provenance": provenance(resolve_device(device), config), "types": {}}
        for act in ACTIVATIONS:
            model, _ = autoencoder(config, MIN_LOSS[act], device)
            out["types"][act] = figure2_panel(model, act, config)
        return out

    return cached("figure2", compute, recompute=recompute, config=config)


def book_autoencoders(config: Config, activations: list[str], device) -> dict:
    """The min-loss autoencoders that ``make book`` (or ``swao reproduce``) trained at ``config``'s
    scale, from the cache: ``{activation: (model, folder)}``; a clear error where one is missing."""
    missing = [a for a in activations if not autoencoder_cached(config, MIN_LOSS[a])]
    if missing:
        raise ValueError(f"no trained {', '.join(map(repr, missing))} autoencoder of scale {config.scale!r} in the cache "
                         f"{cache_root()} (trained by this version of swao): run 'make book' (scale small) or "
                         f"'swao reproduce --scale {config.scale}', or pass --autoencoder CKPT / --autoencoder-dir DIR")
    found = {}
    for a in activations:
        name = MIN_LOSS[a]
        model, result = autoencoder(config, name, device, progress=False)
        found[a] = (model, autoencoder_folder(config, name))
    return found


__all__ = ["TRAIN_THREADS", "autoencoder_parts", "autoencoder_folder", "autoencoder_cached", "autoencoder_result", "autoencoder",
           "table1_block", "mpe_table", "figure2_panel", "figure2", "book_autoencoders"]
