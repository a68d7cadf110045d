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
