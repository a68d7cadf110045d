"""environment.yml (conda) lists exactly the dependencies of pyproject.toml."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pip_lines(text: str) -> set[str]:
    lines = set()
    in_pip = False
    for line in text.splitlines():
        if re.match(r"^\s+- pip:\s*$", line):
            in_pip = True
            continue
        if in_pip:
            m = re.match(r"^\s{6}- (.+?)\s*$", line)
            if not m:
                break
            lines.add(m.group(1))
    return lines - {"-e ."}


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= set(extra)
    assert _pip_lines((ROOT / "environment.yml").read_text()) == wanted


def test_pins_that_matter():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in text
    assert '"jupyter-book>=1.0.4,<2"' in text


def test_importing_swao_sets_the_spin_count_before_torch_is_imported():
    """libgomp reads GOMP_SPINCOUNT once, when torch loads: swao sets it on import, before any of
    its modules imports torch, so it applies wherever swao trains (CLI, book, studies)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    code = "import os, sys, swao; print(os.environ['GOMP_SPINCOUNT'], 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["10000", "False"]
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "GOMP_SPINCOUNT": "7"})
    assert kept.stdout.split()[0] == "7"  # the environment wins
