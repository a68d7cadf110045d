"""Are two result caches the same numbers? ``python tests/compare_caches.py OLD NEW [--ignore k1,k2]``

Compares every ``result.json`` of two caches (for example the smoke fixture before and after a
refactor), kind by kind, without what may change with no change of the numbers: provenance,
timings, checkpoint file names, and the keys named by ``--ignore`` (entries a change added).
Exits 1 if any kind differs.
"""
import argparse
import json
import pathlib
import sys

VOLATILE = {"provenance", "seconds", "train_seconds", "mlps_per_s", "checkpoint", "timings", "wall_s"}


def strip(o, ignore):
    if isinstance(o, dict):
        return {k: strip(v, ignore) for k, v in o.items() if k not in VOLATILE | ignore and "seconds" not in k}
    if isinstance(o, list):
        return [strip(v, ignore) for v in o]
    return o


def load(folder, ignore):
    out = {}
    for f in sorted(pathlib.Path(folder).glob("*/result.json")):
        out.setdefault(f.parent.name.rsplit("-", 1)[0], []).append(json.dumps(strip(json.loads(f.read_text()), ignore), sort_keys=True))
    return {k: sorted(v) for k, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--ignore", default="", help="comma-separated keys to leave out (added by the change)")
    a = ap.parse_args(argv)
    ignore = {k for k in a.ignore.split(",") if k}
    old, new = load(a.old, ignore), load(a.new, ignore)
    same_all = True
    for kind in sorted(set(old) | set(new)):
        same = old.get(kind) == new.get(kind)
        same_all &= same
        print(f"{kind:12s} {len(old.get(kind, []))} vs {len(new.get(kind, []))} results: {'bit-identical' if same else 'DIFFER'}")
    print("ALL IDENTICAL" if same_all else "DIFFERENCES")
    return 0 if same_all else 1


if __name__ == "__main__":
    sys.exit(main())
