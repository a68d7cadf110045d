"""Issue 13's named mutations, each planted in a scratch copy of the repository: which unit
tests fail for each (a mutation no test catches is a missing test).

    python benchmarks/named_mutations.py [--keep DIR]

Prints, per mutation, the failing tests' names (pytest's short summary) or "NOT CAUGHT".
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_search.py", "tests/test_paper_constants.py", "tests/test_metrics_config.py", "tests/test_baselines.py",
         "tests/test_recipe_options.py", "tests/test_losses.py"]
# name: (file, the exact text, its mutation)
MUTATIONS = {
    "lambda = first MSE / 700 (not 7000)": ("swao/method/optimise.py", "LAMBDA_DIVISOR = 7000.0", "LAMBDA_DIVISOR = 700.0"),
    "the last state instead of the best by validation": ("swao/method/optimise.py", "better = (val < best_val) | (step == 0)",
                                                          "better = torch.ones_like(val, dtype=torch.bool)"),
    "argmax instead of argmin (best restart)": ("swao/method/optimise.py", "nan=math.inf).argmin(-1)", "nan=math.inf).argmax(-1)"),
    "the threshold clamped to (0, 30)": ("swao/method/optimise.py", "T_MAX = 3.0", "T_MAX = 30.0"),
    "encoder and decoder index swapped (Tables 1/3)": ("swao/training/evaluation.py", "out[e, j, s : s + chunk] =", "out[j, e, s : s + chunk] ="),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="scratch folder to keep (default: a temporary one)")
    a = ap.parse_args(argv)
    scratch = Path(a.keep or tempfile.mkdtemp(prefix="swao-mut-"))
    missed = 0
    for name, (path, old, new) in MUTATIONS.items():
        copy = scratch / re.sub(r"\W+", "-", name).strip("-")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "cache", "_build", "mutants", "book"))
        src = (copy / path).read_text()
        if src.count(old) != 1:
            print(f"{name}: the text to mutate is not in {path} exactly once (the code changed): update this script")
            return 2
        (copy / path).write_text(src.replace(old, new))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *TESTS]
        run = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin",
                                                                              "SWAO_TEST_THREADS": "1", "OMP_NUM_THREADS": "1"})
        failed = [line.split(" - ")[0].removeprefix("FAILED ") for line in run.stdout.splitlines() if line.startswith("FAILED ")]
        print(f"## {name}  ({path}: `{old}` -> `{new}`)")
        print("\n".join(f"- {f}" for f in failed) if failed else "NOT CAUGHT")
        missed += not failed
        if not a.keep:
            shutil.rmtree(copy)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
