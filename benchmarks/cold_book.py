"""A cold ``make book`` from a fresh clone, timed end to end, for one or more commits (issue 24).

Each commit is cloned into a new temporary folder (so ``.venv``, the result cache and the built
book are all made anew), checked out, and built with ``make book`` under ``/usr/bin/time -v``.
The commits are built one after the other on this machine, so their times compare; nothing else
should use the CPU meanwhile. Per commit: the wall time, the peak memory, and the stage times
the build prints (``[reproduce] <stage>: <s> s``), and the held-out quality of the book it made
(:func:`quality`, read from the build's result cache before the clone is deleted). A markdown
table on stdout, the numbers in ``--out`` (JSON, written after each commit).

    python benchmarks/cold_book.py 5ca1787 HEAD --out /tmp/cold_book.json
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swao.book.cache import write_json

from swao.book.provenance import machine_name
from swao.ours.table2 import best_decoder

STAGE = re.compile(r"^\[reproduce\] (\w+): ([0-9.]+) s$", re.M)
PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def resolve(commit: str) -> str:
    """``commit`` as a full hash of this repository; a clear error where it names none."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"commits: {commit!r} is not a commit of {ROOT}")
    return done.stdout.strip()


METHODS = ("search", "direct", "pruned", "l0")


def quality(cache: Path) -> dict:
    """The held-out quality of a built book, from its result cache: per autoencoder (the
    sigmoid-based min-loss one per mask gradient), Table 1's median over the test MLPs of each
    MLP's best decoder, per encoder; per Table 2 method, the median over the 9 datasets of the
    test MPE at the depth chosen by validation (a diverged cell counts as infinite)."""
    masks = {mg: v["best_median"] for f in cache.glob("mask_grad-*/result.json")
             for mg, v in json.loads(f.read_text())["variants"].items()}
    table1 = {}
    for f in sorted(cache.glob("mpe_table-*/result.json")):
        r = json.loads(f.read_text())
        # the mask-gradient study trains the sigmoid-based min-loss autoencoder twice: named by its masks
        mg = next((mg for mg, median in masks.items() if median == r["best_median"]), None)
        table1[r["name"] + (f" ({mg} masks)" if mg else "")] = r["best_median"]
    table2 = {}
    for f in sorted(cache.glob("search-*/result.json")):
        r = json.loads(f.read_text())
        for m in METHODS:
            mpes = [best_decoder(cells)[1].get("mpe") for entry in r["types"].values() for cells in entry[m].values()]
            table2[m] = statistics.median(float("inf") if v is None else v for v in mpes)
    return {"table1_best_median": table1, "table2_median_test_mpe": table2}


def cold_build(commit: str, keep_log: Path | None = None) -> dict:
    """Clone ``commit`` into a fresh folder and time ``make book`` there."""
    with tempfile.TemporaryDirectory(prefix="cold-book-") as tmp:
        tree = Path(tmp) / "swao"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(tree)], check=True)
        subprocess.run(["git", "-C", str(tree), "checkout", "--quiet", commit], check=True)
        t0 = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", "make", "book"], cwd=tree, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        held_out = quality(tree / "cache")
    log = done.stdout + done.stderr
    if keep_log is not None:
        keep_log.write_text(log)
    stages = {name: float(s) for name, s in STAGE.findall(log)}
    peak = PEAK.search(log)
    return {"commit": commit, "rc": done.returncode, "wall_s": wall, "stages_s": stages,
            "compute_s": sum(stages.values()), "peak_mib": int(peak.group(1)) / 1024 if peak else None,
            "quality": held_out}


def table(runs: list[dict]) -> str:
    """The builds side by side, the first as the reference of the ratios."""
    names = list(dict.fromkeys(s for r in runs for s in r["stages_s"]))
    head = "| | " + " | ".join(f"`{r['commit'][:7]}`" for r in runs) + " |"
    rows = [head, "| --- |" + " ---: |" * len(runs)]

    def row(label, values, fmt):
        rows.append(f"| {label} | " + " | ".join(fmt(v) if v is not None else "" for v in values) + " |")

    row("make book (wall)", [r["wall_s"] for r in runs], lambda v: f"{v // 60:.0f} min {v % 60:02.0f} s")
    row("ratio to the first", [r["wall_s"] / runs[0]["wall_s"] for r in runs], lambda v: f"{v:.2f}x")
    row("compute stage", [r["compute_s"] for r in runs], lambda v: f"{v:,.0f} s")
    for s in names:
        row(f"&nbsp;&nbsp;{s}", [r["stages_s"].get(s) for r in runs], lambda v: f"{v:,.1f} s")
    row("peak memory", [r["peak_mib"] for r in runs], lambda v: f"{v:,.0f} MiB")
    table1 = [r.get("quality", {}).get("table1_best_median", {}) for r in runs]  # none in a run from before it was kept
    table2 = [r.get("quality", {}).get("table2_median_test_mpe", {}) for r in runs]
    for n in dict.fromkeys(n for t in table1 for n in t):
        row(f"Table 1, {n}: best-decoder median MPE %, E1-E4", [t.get(n) for t in table1], lambda v: " / ".join(f"{x:.1f}" for x in v))
    for m in METHODS:
        row(f"Table 2, {m}: median test MPE % (9 datasets)", [t.get(m) for t in table2], lambda v: f"{v:.1f}")
    row("exit status", [r["rc"] for r in runs], str)
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("commits", nargs="+", help="commits to build, the first is the reference (e.g. 5ca1787 HEAD)")
    ap.add_argument("--out", required=True, help="the JSON of the builds")
    ap.add_argument("--logs", default=None, help="a folder for each build's full log")
    a = ap.parse_args(argv)
    commits = [resolve(c) for c in a.commits]
    logs = Path(a.logs) if a.logs else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    study = {"machine": machine_name(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": "python benchmarks/cold_book.py " + " ".join(a.commits), "runs": []}
    for c in commits:
        print(f"[cold_book] {c[:7]}: clone, make book ...", flush=True)
        run = cold_build(c, logs / f"{c[:7]}.log" if logs else None)
        study["runs"].append(run)
        write_json(Path(a.out), study)
        print(f"[cold_book] {c[:7]}: {run['wall_s'] / 60:.1f} min, rc {run['rc']}", flush=True)
    print(f"Machine: {study['machine']}; {study['date']}\n")
    print(table(study["runs"]))
    return 0 if all(r["rc"] == 0 for r in study["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
