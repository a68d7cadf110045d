"""Compute once, render many times: results cached on disk, keyed by config and swao version.

Every expensive result (a trained autoencoder, an MPE table, a set of search trajectories) is
stored under ``cache/<kind>-<key>/`` where ``key`` hashes the kind, the scale's config, the
other arguments and the swao version. A folder is complete only once its ``result.json``
exists; files are written to a temp name and renamed, so a killed run leaves nothing that
looks finished. Each result carries its provenance (command, device, machine, commit, date),
so a table can always say which scale and hardware produced it.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import datetime as _dt
import hashlib
import json
import os
import re
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import torch

from . import __version__
from .config import Config

ROOT = Path(__file__).resolve().parent.parent


def cache_root() -> Path:
    """``$SWAO_CACHE`` or ``<repo>/cache``."""
    return Path(os.environ.get("SWAO_CACHE", ROOT / "cache"))


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if isinstance(obj, torch.device):
        return str(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot hash {type(obj).__name__} into a cache key")


# The modules whose code decides a cached result's numbers: a change to any of them is a new
# "version" of the computation, so old results are not reused by mistake.
COMPUTE_MODULES = ("activations", "representation", "forward", "generation", "metrics", "config", "model", "losses",
                   "evaluation", "diagnostics", "checkpoint", "distributed", "train", "sparsity", "fused_mse", "optimise",
                   "search", "table2", "baselines", "experiments", "export", "feynman", "csv_dataset")


# A kind of result that does not read every computing module, and the ones it reads: a change to
# the search does not retrain the autoencoders. Every other kind depends on all of COMPUTE_MODULES.
KIND_MODULES = {
    "autoencoder": ("activations", "representation", "forward", "generation", "metrics", "config", "model", "losses",
                    "evaluation", "checkpoint", "distributed", "train", "experiments"),
}


@functools.lru_cache(maxsize=None)
def code_fingerprint(kind: str | None = None) -> str:
    """Hash of the source of the modules ``kind`` depends on (:data:`KIND_MODULES`, else
    :data:`COMPUTE_MODULES`): part of every cache key of that kind."""
    h = hashlib.sha256(__version__.encode())
    for name in KIND_MODULES.get(kind, COMPUTE_MODULES):
        path = Path(__file__).with_name(f"{name}.py")
        h.update(fingerprinted(name, path.read_bytes() if path.exists() else b""))
    return h.hexdigest()[:16]


def fingerprinted(name: str, source: bytes) -> bytes:
    """What of a module's source enters the code fingerprint: its code, not its prose. The
    source is parsed and its syntax tree dumped without comments (the parser drops them),
    docstrings (a string standing alone as a module's, class's or function's first statement) or
    positions, so that editing prose or layout keeps every cache key and editing code changes
    it. ``config``'s table of scales is left out too: its values are part of every cache key
    already (so that retuning a scale keeps the results that do not depend on what changed).
    The dump is Python's own ``ast.dump`` (the project runs on one Python minor version)."""
    if name == "config":
        source = re.sub(rb"# --- the table of scales: begin.*?# --- the table of scales: end\n", b"", source, flags=re.S)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False).encode()


def cache_key(kind: str, **parts: Any) -> str:
    """A 16-hex-digit key of ``kind``, the given parts (configs, options), the swao version and
    the fingerprint of the computing code."""
    blob = json.dumps({"kind": kind, "version": __version__, "code": code_fingerprint(kind), **parts},
                      sort_keys=True, default=_jsonable)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def result_dir(kind: str, **parts: Any) -> Path:
    return cache_root() / f"{kind}-{cache_key(kind, **parts)}"


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=_jsonable))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete it to recompute") from err


def machine_name() -> str:
    """The CPU's model name, family and model numbers (from /proc/cpuinfo where present: two
    hosts of one model name can be of different families) and its core count."""
    name, ids = platform.processor() or platform.machine(), {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not ids.get("name"):
                ids["name"] = value.strip()
            elif key in ("cpu family", "model") and key not in ids:
                ids[key] = value.strip()
            elif not line.strip() and ids:
                break
    except OSError:
        pass
    name = ids.get("name", name)
    family = f" (family {ids['cpu family']}, model {ids['model']})" if "cpu family" in ids and "model" in ids else ""
    return f"{name}{family}, {os.cpu_count()} cores"


def git_commit() -> str:
    """The short commit of the checkout, or ``$SWAO_COMMIT`` (for a copy without ``.git``, such
    as a GPU machine's), or ``"unknown"``."""
    if os.environ.get("SWAO_COMMIT"):
        return os.environ["SWAO_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(device: str | torch.device = "cpu", scale: Any = None) -> dict:
    """Who made a result: command, scale, device (GPU name on CUDA), machine, commit, date.

    ``scale`` is a scale's name or its :class:`swao.config.Config`; a config also records its
    sizes beside the paper's (:meth:`~swao.config.Config.describe`)."""
    device = torch.device(device)
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({machine_name()}, {torch.get_num_threads()} threads)"
    sizes = None
    if isinstance(scale, Config):
        scale, sizes = scale.scale, scale.describe()
    return {
        "command": " ".join(("swao" if Path(a).name == "cli.py" else Path(a).name) if i == 0 else a
                            for i, a in enumerate(sys.argv)),
        "scale": scale,
        "sizes": sizes,
        "device": str(device),
        "hardware": hardware,
        "torch": torch.__version__,
        "swao": __version__,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


RESULT = "result.json"  # a cache folder is complete once it holds this
# Set (to anything but "" or "0") where nothing may be computed: the book build renders its
# notebooks with it, after its compute stage, so that a missing result stops with a clear error
# instead of training in silence inside a kernel.
NO_COMPUTE = "SWAO_NO_COMPUTE"


class MissingResult(RuntimeError):
    """A result is not in the cache, and computing is off (:data:`NO_COMPUTE`)."""


def compute_allowed() -> bool:
    return os.environ.get(NO_COMPUTE, "") in ("", "0")


def _describe(parts: dict) -> str:
    """The parts of a cache key that name a result, without the config (e.g. "name=sigmoid-min")."""
    named = {k: v for k, v in parts.items() if k != "config" and v is not None}
    return "(" + ", ".join(f"{k}={v}" for k, v in named.items()) + ")" if named else ""


def has_result(kind: str, **parts: Any) -> bool:
    """Whether the cache holds a complete result of ``kind`` for ``parts``."""
    return (result_dir(kind, **parts) / RESULT).exists()


def cached(kind: str, compute: Callable[[Path], dict], recompute: bool = False, **parts: Any) -> dict:
    """Return the cached result of ``kind`` for ``parts``, computing it first if missing.

    ``compute(folder)`` may write files (checkpoints) into ``folder`` and returns a JSON-able
    dict (it should include a ``provenance`` entry); it is saved as ``folder/result.json``.
    ``recompute`` (a notebook's ``retrain``): compute even if the cache holds the result.
    """
    if not isinstance(recompute, bool):
        raise ValueError(f"recompute (a notebook's retrain) must be True or False, got {recompute!r}")
    folder = result_dir(kind, **parts)
    done = folder / RESULT
    if done.exists() and not recompute:
        return read_json(done)
    if not compute_allowed():
        config = parts.get("config")
        scale = config.scale if isinstance(config, Config) else (config or {}).get("scale", "SCALE") if isinstance(config, dict) else "SCALE"
        raise MissingResult(
            f"the {kind} result {_describe(parts)} is not in the cache ({folder}), and computing is off here "
            f"({NO_COMPUTE}={os.environ[NO_COMPUTE]}: the book build computes first, then renders). Compute it with "
            f"`swao reproduce --scale {scale} --no-export` (or `make book`), or unset {NO_COMPUTE}.")
    folder.mkdir(parents=True, exist_ok=True)
    result = compute(folder)
    write_json(done, result)
    return result
