"""The mutation score of `make mutation` (mutmut 3, setup.cfg), per module and in all, and the
surviving mutants by name (``mutmut show NAME`` prints one's diff). Reads mutmut's own records
(``mutants/**/*.py.meta``), so it summarises the last run, whole or interrupted.

    python benchmarks/mutation_summary.py > mutants/summary.txt
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main() -> int:
    metas = sorted(Path("mutants").glob("swao/*.py.meta"))
    if not metas:
        print("no mutmut records under mutants/: run `make mutation` first", file=sys.stderr)
        return 1
    total, survivors = Counter(), []
    print(f"{'module':<28}{'mutants':>8}{'killed':>8}{'survived':>9}{'other':>7}{'score':>8}")
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        c = Counter(status_by_exit_code[v] for v in codes.values())
        total.update(c)
        checked = c["killed"] + c["survived"]
        other = sum(c.values()) - checked
        score = f"{100 * c['killed'] / checked:.1f} %" if checked else "–"
        print(f"{meta.name.removesuffix('.meta'):<28}{len(codes):>8}{c['killed']:>8}{c['survived']:>9}{other:>7}{score:>8}")
        survivors += [k for k, v in codes.items() if status_by_exit_code[v] == "survived"]
    checked = total["killed"] + total["survived"]
    print(f"{'all':<28}{sum(total.values()):>8}{total['killed']:>8}{total['survived']:>9}"
          f"{sum(total.values()) - checked:>7}{100 * total['killed'] / max(1, checked):>7.1f} %")
    others = ", ".join(f"{k} {v}" for k, v in total.items() if k not in ("killed", "survived"))
    print("other: " + (others or "none"))
    print(f"\nsurviving mutants ({len(survivors)}):")
    print("\n".join(f"  {k}" for k in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
