"""The files a run writes: the autoencoder's checkpoint (one safetensors file) and JSON, each
written atomically (a temp name, then a rename: a killed run never leaves a half-written file).

``checkpoint.safetensors`` holds the model's tensors (``model.*``), Adam's state (``optim.*``)
and, in its string header, the format name and version and two JSON documents: ``meta`` (the
run's settings, its step and history) and ``extra`` (Adam's parameter groups). Reading never
executes code from the file (safetensors and JSON only, unlike ``torch.load`` of a pickle).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from swao.training.config import network, resolve_device
from swao.method.model import DEFAULT_MASK_GRAD, MultiScaleAutoencoder

FORMAT = "swao-autoencoder"
FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.safetensors"  # its name in a run directory
HISTORY = "history.json"  # the learning curves beside it


def jsonable(obj: Any) -> Any:
    """JSON for what ``json`` cannot write itself: a dataclass (a config), a device, a path."""
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if isinstance(obj, (torch.device, Path)):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=jsonable))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete it to recompute") from err


def _save_tensors(path: Path, tensors: dict, header: dict) -> None:
    """One safetensors file with a string header, atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata=header)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None, meta: dict) -> None:
    """Write ``model`` (+ Adam state) and ``meta`` as one safetensors file, atomically."""
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    extra = {}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for i, st in sd["state"].items():
            for k, v in st.items():
                tensors[f"optim.{i}.{k}"] = torch.as_tensor(v).detach().contiguous().cpu()
        extra["optim_param_groups"] = sd["param_groups"]
    _save_tensors(path, tensors, {"format": FORMAT, "version": str(FORMAT_VERSION), "meta": json.dumps(meta),
                                  "extra": json.dumps(extra)})


SNAPSHOT_FORMAT = "swao-autoencoder-snapshot"
_KINDS = {FORMAT: ("checkpoint", "autoencoder checkpoint"),  # format -> its short and full names in errors
          SNAPSHOT_FORMAT: ("snapshot", "weights-only snapshot")}


def save_snapshot(path: Path, model: nn.Module, meta: dict, dtype: torch.dtype = torch.bfloat16) -> None:
    """A weights-only snapshot: the model's floating-point tensors cast to ``dtype`` (bf16 by
    default: half the size of float32, ~22 MB for the paper's network) and ``meta`` (the run's
    settings, step and history), atomically; no optimiser state. :func:`read_snapshot` reads it,
    :func:`load_autoencoder` loads it as a model, and ``train_autoencoder(warm_start=...)``
    continues its run with fresh Adam moments (a new machine, where the full checkpoint is not)."""
    tensors = {f"model.{k}": (v.to(dtype) if v.is_floating_point() else v).detach().contiguous().cpu()
               for k, v in model.state_dict().items()}
    _save_tensors(path, tensors, {"format": SNAPSHOT_FORMAT, "version": str(FORMAT_VERSION),
                                  "meta": json.dumps({**meta, "snapshot_dtype": str(dtype).removeprefix("torch.")})})


def _read(path: Path, device, formats: tuple[str, ...], optimizer: bool = False) -> tuple[str, dict, dict, dict]:
    """``(format, model_state, meta, optim_state_or_{})`` of a checkpoint or snapshot file, opened
    once; ``formats``: those accepted. Never executes code from the file (safetensors + JSON). A
    truncated, corrupt or foreign file raises ``ValueError`` naming the file."""
    short, full = (" or ".join(_KINDS[f][i] for f in formats) for i in (0, 1))
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            header = f.metadata() or {}
            fmt = header.get("format")
            state, meta, optim = {}, {}, {}
            if fmt in formats and header.get("version") == str(FORMAT_VERSION):
                keys = list(f.keys())
                meta = json.loads(header["meta"])
                state = {k[6:]: f.get_tensor(k) for k in keys if k.startswith("model.")}
                extra = json.loads(header.get("extra", "{}"))
                if optimizer and "optim_param_groups" in extra:
                    st: dict = {}
                    for k in keys:
                        if k.startswith("optim."):
                            _, i, name = k.split(".", 2)
                            st.setdefault(int(i), {})[name] = f.get_tensor(k).cpu()
                    optim = {"state": st, "param_groups": extra["optim_param_groups"]}
    except Exception as err:  # safetensors' own errors (truncated header, bad offsets), bad JSON
        raise ValueError(f"{path} is not a readable swao {short} (truncated or corrupt?): {err}") from err
    if fmt not in formats:
        raise ValueError(f"{path} is not a swao {full} (no {' or '.join(repr(f) for f in formats)} header)")
    if header.get("version") != str(FORMAT_VERSION):
        raise ValueError(f"{path}: unsupported {_KINDS[fmt][0]} version {header.get('version')!r}")
    return fmt, state, meta, optim


def read_snapshot(path, device="cpu") -> tuple[dict, dict]:
    """``(model_state, meta)`` of a weights-only snapshot (:func:`save_snapshot`); never executes
    code from the file. A missing, corrupt or foreign file raises a clear error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no swao snapshot at {path}")
    _, state, meta, _ = _read(path, device, (SNAPSHOT_FORMAT,))
    return state, meta


def checkpoint_file(path) -> Path:
    """The checkpoint file of a file or run directory; ``FileNotFoundError`` if there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no swao checkpoint at {path}")
    return path


def read_checkpoint(path, device="cpu", optimizer: bool = False) -> tuple[dict, dict, dict]:
    """``(model_state, meta, optim_state_or_{})`` from a checkpoint file or run directory.

    Never executes code from the file (safetensors + JSON). A truncated, corrupt or foreign
    file raises ``ValueError`` naming the file.
    """
    _, state, meta, optim = _read(checkpoint_file(path), device, (FORMAT,), optimizer)
    return state, meta, optim


def load_autoencoder(path, device="cpu") -> tuple[MultiScaleAutoencoder, dict]:
    """``(model, meta)`` from a checkpoint file, a run directory or a weights-only snapshot
    (:func:`save_snapshot`; its bf16 weights upcast to float32), model in eval mode on ``device``.

    ``meta`` holds ``activation``, ``loss``, ``p``, ``mask_grad``, ``config`` (dict), ``steps``,
    ``total_steps``, ``val_mpe`` (the last 4x4 validation table, rows D1..D4, cols E1..E4).
    """
    device = resolve_device(device)
    path = checkpoint_file(path) if Path(path).is_dir() or not Path(path).exists() else Path(path)
    _, state, meta, _ = _read(path, device, (FORMAT, SNAPSHOT_FORMAT))
    model = network(meta.get("config", {}), meta.get("mask_grad", DEFAULT_MASK_GRAD)).to(device)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit the autoencoder: {err}") from err
    return model.eval(), meta
