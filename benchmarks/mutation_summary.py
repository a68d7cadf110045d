"""The mutation score of `make mutation` (mutmut 3, setup.cfg), per module and in all, and the
surviving mutants by name (``mutmut show NAME`` prints one's diff). Reads mutmut's own records
(``mutants/**/*.py.meta``), so it summarises the last run, whole or interrupted.

    python benchmarks/mutation_summary.py > mutants/summary.txt
    python benchmarks/mutation_summary.py --survivors benchmarks/mutation-survivors.md

``--survivors FILE`` writes each survivor's change (the mutated lines, from mutmut's own copies
under ``mutants/``) with its reason: a rule for the kinds that cannot change a number (a
message's or a label's text), else the reason read by hand and recorded in
``benchmarks/mutation-reasons.json`` (name -> reason), else "unread".
"""
from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import re
import sys
import tokenize
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def function_sources(module_file: Path) -> dict[str, str]:
    """``{mutmut function name: its source}`` for every ``x..__mutmut_<k|orig>`` of a mutated module."""
    text = module_file.read_text()
    out = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            out[node.name] = ast.get_source_segment(text, node)
    return out


def _without_strings(line: str) -> str:
    """The line's tokens with every string literal blanked (f-strings included)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line
    kinds = {tokenize.STRING} | {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
    return " ".join("''" if t.type in kinds else t.string for t in toks)


def change(orig: str, mutant: str) -> tuple[list[str], list[str]]:
    """The lines a mutant removed and added (bodies only: the def lines differ by name)."""
    a, b = orig.splitlines()[1:], mutant.splitlines()[1:]
    diff = list(difflib.ndiff(a, b))
    return [d[2:].strip() for d in diff if d.startswith("- ")], [d[2:].strip() for d in diff if d.startswith("+ ")]


def rule_reason(removed: list[str], added: list[str]) -> str | None:
    """The reason for the kinds no number depends on, or ``None``."""
    if len(removed) == len(added) and all(_without_strings(r) == _without_strings(x) for r, x in zip(removed, added)):
        return ("text only: the words of an error message, a label or a progress bar's title (the tests match an "
                "error's meaning, not each word); no number depends on them")
    if all(re.search(r"Error\(None\)", x) for x in added) and added:
        return "text only: an error's message removed (its type, which the tests check, is unchanged)"
    for test, reason in KINDS:
        if removed and len(removed) == len(added) and all(test(r, x) for r, x in zip(removed, added)):
            return reason
    return None


def _drop_arg(line: str, names: str) -> str:
    """The line without keyword arguments ``names=...`` (one level of brackets in the value)."""
    return re.sub(rf",?\s*\b(?:{names})=(?:\w|\.|\[[^\]]*\]|\([^)]*\))*", "", line).replace("(, ", "(").replace(", )", ")")


def _same_but(names: str, nones: tuple[str, ...] = ()):
    """A test: the two lines are the same once ``names=...`` arguments are dropped and each of the
    values ``nones`` (positional uses) is read as None."""
    def test(r: str, x: str) -> bool:
        r2, x2 = _drop_arg(r, names), _drop_arg(x, names)
        for v in nones:
            r2 = re.sub(rf"\b{re.escape(v)}\b(?!\.)", "None", r2)
        return r2 == x2 or r2.replace("None", "") == x2.replace("None", "")
    return test


def _matches(pattern: str):
    return lambda r, x: re.search(pattern, r) is not None


# (a test of each (removed, added) line pair, the reason): kinds read once and named here
KINDS = (
    (_matches(r"^best_step = torch.zeros"), "equivalent: the best step is stored as a float instead of an int and read "
                                            "back with int()"),
    (_same_but("dtype", ("dtype",)), "equivalent here: float32, the dtype of every run and test, is torch's default"),
    (_same_but("device", ("device", "dev")), "equivalent on a CPU: no device means the CPU (the GPU path runs in "
                                             "benchmarks/gpu_check.sh)"),
    (lambda r, x: bool(re.match(r"(show|label|phase) = ", r)) or _same_but("progress", ("show",))(r, x),
     "progress display only: what a progress bar shows, not what is computed"),
    (_matches(r"perf_counter\(\)"), "a duration only: the seconds a run took, printed as a timing, never as a result"),
    (_same_but("workers", ("workers",)), "equivalent: the depths' threads do not change the result "
                                          "(test_depth_workers_do_not_change_the_result)"),
    (_matches(r"^order = sorted"), "equivalent: only the order in which the independent depths run"),
    (_matches(r"nan_to_num\(0\.0, 0\.0, 0\.0\)"), "differs only for a diverged (NaN / Inf) matrix, and then only in "
                                                    "the logged non-zero count"),
    (_matches(r"set_to_none"), "equivalent: every leaf gets a gradient every step, so zeroed and unset gradients "
                               "give the same Adam step"),
    (_matches(r"manual_seed\(seed \+ 7919"), "another fixed seed for the gate noise: other draws of the same "
                                             "distribution, as reproducible"),
)


def write_survivors(path: Path, survivors: list[str]) -> Counter:
    reasons_file = Path(__file__).with_name("mutation-reasons.json")
    manual = json.loads(reasons_file.read_text()) if reasons_file.exists() else {}
    sources: dict[str, dict[str, str]] = {}
    kinds: Counter = Counter()
    lines = ["# Surviving mutants, each with its reason", "",
             "Written by `python benchmarks/mutation_summary.py --survivors` after `make mutation`. The",
             "reasons come from a rule (message and label text) or were read by hand",
             "(`benchmarks/mutation-reasons.json`).", ""]
    for name in survivors:
        module, func = name.rsplit(".", 1)  # "swao.method.search", "x_search__mutmut_3"
        if module not in sources:
            sources[module] = function_sources(Path("mutants").joinpath(*module.split(".")).with_suffix(".py"))
        src = sources[module]
        orig = src.get(re.sub(r"__mutmut_\d+$", "__mutmut_orig", func))
        removed, added = change(orig, src[func]) if orig and func in src else ([], [])
        reason = rule_reason(removed, added) or manual.get(name) or "unread"
        kinds[reason.split(":")[0]] += 1
        shown = "; ".join(f"`{r}` -> `{x}`" for r, x in zip(removed, added)) or "; ".join(f"`{x}`" for x in removed + added)
        lines.append(f"- `{name}`: {shown[:400]}  \n  **{reason}**")
    lines += ["", "Reasons by kind: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common())]
    path.write_text("\n".join(lines) + "\n")
    return kinds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--survivors", metavar="FILE", help="also write every survivor's change and reason to FILE (markdown)")
    args = ap.parse_args(argv)
    metas = sorted(Path("mutants").glob("swao/**/*.py.meta"))
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
    if args.survivors:
        kinds = write_survivors(Path(args.survivors), survivors)
        print(f"\nwrote {args.survivors}: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
