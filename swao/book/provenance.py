"""Who made a result: the command, scale and sizes, device and machine, versions, commit and date.

Every result the book shows carries this record, so that a table can always say which scale and
hardware produced it, and a reader can rerun the command as written.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from swao import __version__
from swao.book.fingerprint import ROOT
from swao.training.config import Config


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


def command_line(argv: list[str] | None = None) -> str:
    """This process's command (``argv``: ``sys.argv``) as a reader reruns it from the repository's
    root: ``swao ...`` for the command-line tool, ``python studies/X.py ...`` for a script of the
    repository (its path, so the command runs as written), else the program's name."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0])
    if script.name in ("swao", "cli.py") or (script.name == "__main__.py" and script.parent.name == "cli"):
        first = "swao"
    else:
        try:
            first = "python " + script.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            first = script.name
    return " ".join([first, *argv[1:]])


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
        "command": command_line(),
        "scale": scale,
        "sizes": sizes,
        "device": str(device),
        "hardware": hardware,
        "torch": torch.__version__,
        "swao": __version__,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


__all__ = ["machine_name", "git_commit", "command_line", "provenance"]
