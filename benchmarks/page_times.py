"""How long each page of the book takes to rerun alone, from nothing cached: the time its
"Rerun this page" box quotes at each scale (issue 39).

Per page, at one scale: the box's own command (``book/build.py``'s ``rerun_command``, with the
parameters the book runs the page with) is run from the repository's root with a new, empty
result cache (``SWAO_CACHE``), so the page computes every result it reads, as a reader's first
rerun on a fresh clone does; the committed results under ``results/`` are read, as there. The
pages run one after the other; nothing else should use the CPU meanwhile. The seconds go to
``benchmarks/page_times.json`` (per scale: machine, date, commit, the command, seconds per page),
beside the other scales' entries, which are kept.

    python benchmarks/page_times.py --scale smoke
    python benchmarks/page_times.py --scale small --pages 03_autoencoder_training 05_sparse_search
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))

import build  # book/build.py: the pages, their parameters and the box that quotes these times
import torch

from swao.book.cache import NO_COMPUTE
from swao.book.provenance import git_commit, machine_name
from swao.training.checkpoint import read_json, write_json


def rerun_alone(nb: Path, scale: str, device: str, scratch: Path) -> float:
    """Seconds to run the box's command for page ``nb`` with an empty result cache under
    ``scratch``; a failed run stops with the page's name and papermill's last lines."""
    command = shlex.split(build.rerun_command(nb, build.page_parameters(nb, scale, device)))
    assert command[0] == "papermill", command
    out = scratch / f"{nb.stem}-rerun.ipynb"
    argv = [sys.executable, "-m", "papermill", command[1], str(out), *command[3:]]
    env = {k: v for k, v in os.environ.items() if k != NO_COMPUTE}  # a reader's rerun computes what it misses
    env["SWAO_CACHE"] = str(scratch / "cache")
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise SystemExit(f"page_times: {nb.stem} failed at the {scale} scale:\n{tail}")
    return seconds


def measured_commit() -> str:
    """The checkout's commit, marked ``+uncommitted`` where tracked files differ from it (the
    times would then be of code no commit holds)."""
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return git_commit() + ("+uncommitted" if changed else "")


def measure(scale: str, device: str, pages: list[Path], command: str) -> dict:
    """Each of ``pages`` rerun alone from nothing cached, one after the other, with a progress line
    each; ``command``: the one that measures them, for the record."""
    seconds = {}
    for i, nb in enumerate(pages, 1):
        with tempfile.TemporaryDirectory(prefix="page-times-") as scratch:
            seconds[nb.stem] = round(rerun_alone(nb, scale, device, Path(scratch)), 1)
        print(f"[page_times] {i}/{len(pages)} {nb.stem}: {seconds[nb.stem]:.1f} s at {scale}", flush=True)
    machine = machine_name() if device == "cpu" else f"{torch.cuda.get_device_name()} beside {machine_name()}"
    return {"machine": machine, "device": device, "commit": measured_commit(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command, "seconds": seconds}


def table(times: dict) -> str:
    """The measured scales side by side, a page per row, as markdown (for ``benchmarks/RESULTS.md``)."""
    scales = [sc for sc in build.SCALES if sc in times]
    lines = ["| page | " + " | ".join(f"`{sc}` ({times[sc]['machine']}, `{times[sc]['commit']}`)" for sc in scales) + " |",
             "| --- |" + " ---: |" * len(scales)]
    for nb in build.NOTEBOOKS:
        cells = [build.duration(times[sc]["seconds"][nb.stem]) if nb.stem in times[sc]["seconds"] else "" for sc in scales]
        lines.append(f"| {nb.stem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=build.SCALES, required=True)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--pages", nargs="+", metavar="STEM", help="only these pages (notebook stems; default: every page)")
    ap.add_argument("--out", type=Path, default=build.PAGE_TIMES, help=f"default: {build.PAGE_TIMES.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    stems = [nb.stem for nb in build.NOTEBOOKS]
    unknown = sorted(set(args.pages or ()) - set(stems))
    if unknown:
        ap.error(f"--pages: {', '.join(unknown)} is not a page of the book (pages: {', '.join(stems)})")
    pages = [nb for nb in build.NOTEBOOKS if not args.pages or nb.stem in args.pages]
    command = "python benchmarks/page_times.py " + " ".join(sys.argv[1:] if argv is None else argv)
    entry = measure(args.scale, args.device, pages, command)
    times = read_json(args.out) if args.out.exists() else {}
    earlier = times.get(args.scale)
    if args.pages and earlier and earlier["commit"] == entry["commit"]:  # a part: the other pages keep their measurement
        entry["seconds"] = {**earlier["seconds"], **entry["seconds"]}
    times[args.scale] = entry
    write_json(args.out, times)
    print(f"[page_times] {sum(entry['seconds'].values()):.0f} s in all; written to {args.out}\n\n{table(times)}", flush=True)


if __name__ == "__main__":
    main()
