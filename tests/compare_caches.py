import json, sys, pathlib
VOLATILE = {"provenance", "seconds", "train_seconds", "mlps_per_s", "checkpoint", "timings", "wall_s"}
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in VOLATILE and "seconds" not in k}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
def load(d):
    out = {}
    for f in sorted(pathlib.Path(d).glob("*/result.json")):
        out.setdefault(f.parent.name.rsplit("-", 1)[0], []).append(json.dumps(strip(json.loads(f.read_text())), sort_keys=True))
    return {k: sorted(v) for k, v in out.items()}
a, b = load(sys.argv[1]), load(sys.argv[2])
ok = True
for k in sorted(set(a) | set(b)):
    same = a.get(k) == b.get(k)
    ok &= same
    print(f"{k:12s} {len(a.get(k, []))} vs {len(b.get(k, []))} results: {'bit-identical' if same else 'DIFFER'}")
print("ALL IDENTICAL" if ok else "DIFFERENCES")
