"""Compute once, render many times: results cached on disk, keyed by config and swao version.

Every expensive result (a trained autoencoder, an MPE table, a set of search trajectories) is
stored under ``cache/<kind>-<key>/`` where ``key`` hashes the kind, the scale's config, the
other arguments and the swao version. A folder is complete only once its ``result.json``
exists; files are written to a temp name and renamed, so a killed run leaves nothing that
looks finished. The key's code part is :mod:`swao.book.fingerprint`'s; each result carries
its provenance (:mod:`swao.book.provenance`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from swao import __version__
from swao.book.fingerprint import ROOT, code_fingerprint
from swao.training.checkpoint import jsonable, read_json, write_json
from swao.training.config import Config


def cache_root() -> Path:
    """``$SWAO_CACHE`` or ``<repo>/cache``."""
    return Path(os.environ.get("SWAO_CACHE", ROOT / "cache"))


def cache_key(kind: str, **parts: Any) -> str:
    """A 16-hex-digit key of ``kind``, the given parts (configs, options), the swao version and
    the fingerprint of the computing code."""
    blob = json.dumps({"kind": kind, "version": __version__, "code": code_fingerprint(kind), **parts},
                      sort_keys=True, default=jsonable)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def result_dir(kind: str, **parts: Any) -> Path:
    return cache_root() / f"{kind}-{cache_key(kind, **parts)}"


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
