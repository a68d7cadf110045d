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
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import torch

from swao import __version__
from swao.training.checkpoint import jsonable, read_json, write_json
from swao.training.config import Config

PACKAGE = Path(__file__).resolve().parent.parent  # swao/
ROOT = PACKAGE.parent


def cache_root() -> Path:
    """``$SWAO_CACHE`` or ``<repo>/cache``."""
    return Path(os.environ.get("SWAO_CACHE", ROOT / "cache"))


# ---------------------------------------------------------------- which code a result depends on
# A result's key holds the fingerprint of the code that computes it: the module that computes a
# kind of result (the one that calls ``cached(kind, ...)``) and every swao module it imports,
# directly or not, read from their syntax trees. A change there is a new "version" of the
# computation, so old results are not reused by mistake; a change anywhere else (a renderer, the
# search for an autoencoder's key, prose) keeps every key. This module is left out: it decides
# where results are stored, not what they are.
CACHE_MODULE = __name__


def module_file(name: str) -> Path:
    """The source file of a swao module (``"swao.method.model"`` -> ``swao/method/model.py``)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _is_module(name: str) -> bool:
    return name.split(".")[0] == "swao" and module_file(name).exists()


def imported_modules(name: str, tree: ast.Module | None = None) -> set[str]:
    """The swao modules that module ``name`` imports anywhere in its code (at its top or inside a
    function): ``import swao.a.b``, ``from swao.a import b`` (a module or a name in it), relative
    imports alike."""
    tree = tree or ast.parse(module_file(name).read_bytes())
    package = name if module_file(name).name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _is_module(a.name)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if _is_module(base):
                found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")}
    return found - {name}


def dependencies(name: str) -> tuple[str, ...]:
    """``name`` and every swao module it imports, directly or through others (sorted; the cache
    module is not followed)."""
    seen, todo = set(), [name]
    while todo:
        m = todo.pop()
        if m in seen or m == CACHE_MODULE:
            continue
        seen.add(m)
        todo.extend(imported_modules(m))
    return tuple(sorted(seen))


def package_modules() -> list[str]:
    """Every module of the swao package, by dotted name."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@functools.lru_cache(maxsize=1)
def kind_modules() -> dict[str, str]:
    """``{kind: module}``: the module that computes each kind of cached result, found as the one
    whose code calls ``cached("kind", ...)``."""
    kinds = {}
    for name in package_modules():
        for node in ast.walk(ast.parse(module_file(name).read_bytes())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "cached" \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                kinds[node.args[0].value] = name
    return kinds


def code_modules(kind: str | None = None) -> tuple[str, ...]:
    """The modules whose code a result of ``kind`` depends on: its computing module's
    :func:`dependencies`; for a kind the package does not compute, those of every kind."""
    roots = kind_modules()
    if kind in roots:
        return dependencies(roots[kind])
    return tuple(sorted({m for root in roots.values() for m in dependencies(root)}))


@functools.lru_cache(maxsize=None)
def code_fingerprint(kind: str | None = None) -> str:
    """Hash of the code of the modules ``kind`` depends on (:func:`code_modules`): part of every
    cache key of that kind."""
    h = hashlib.sha256(__version__.encode())
    for name in code_modules(kind):
        h.update(name.encode())
        h.update(fingerprinted(name, module_file(name).read_bytes()))
    return h.hexdigest()[:16]


def fingerprinted(name: str, source: bytes) -> bytes:
    """What of a module's source enters the code fingerprint: its code, not its prose. The
    source is parsed and its syntax tree dumped without comments (the parser drops them),
    docstrings (a string standing alone as a module's, class's or function's first statement) or
    positions, so that editing prose or layout keeps every cache key and editing code changes
    it. The configuration's table of scales is left out too: its values are part of every cache
    key already (so that retuning a scale keeps the results that do not depend on what changed).
    The dump is Python's own ``ast.dump`` (the project runs on one Python minor version)."""
    if name == Config.__module__:
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
                      sort_keys=True, default=jsonable)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def result_dir(kind: str, **parts: Any) -> Path:
    return cache_root() / f"{kind}-{cache_key(kind, **parts)}"


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

    ``scale`` is a scale's name or its :class:`swao.training.config.Config`; a config also records
    its sizes beside the paper's (:meth:`~swao.training.config.Config.describe`)."""
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
