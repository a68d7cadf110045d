"""The smoke-scale results fixture that the executed notebook copies under ``tests/notebooks``
are rendered from, and the CPU code paths they are checked under.

Why: training amplifies the last-bit differences between CPUs' floating-point paths (hard 0/1
masks, the argmin of the min loss) into different numbers after a few steps, so a notebook copy
that *computes* its results passes only on the CPU that made it. The copies therefore render
from committed results (``tests/fixtures/smoke-cache``: the ``result.json`` of every cache
entry the notebooks read, made by the book's compute stage at smoke scale) with computing off
(``SWAO_NO_COMPUTE=1``): what they print is a function of the code and the fixture alone. The
computation itself is tested apart, with tolerances (``test_train.py``, ``test_search.py``,
``test_paper_run.py``).

    python tests/nbval_fixture.py      # `make nbval-refresh`: recompute the fixture, re-execute the copies

The fixture is keyed like the cache (config, swao version, fingerprint of the computing code):
after a change to a computing module, ``test_nbval_portable.py`` says the fixture is stale.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURE = HERE / "fixtures" / "smoke-cache"
NOTEBOOKS = HERE / "notebooks"
SANITIZE = HERE / "nbval_sanitize.cfg"

# CPU code paths of ATen (vectorised kernels), oneDNN (convolutions) and MKL (matmuls), each
# pinned by its documented variable, with the CPU flags each needs.
CODE_PATHS = {
    "default": ({"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}, ()),
    "avx2": ({"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}, ("avx2", "fma")),
    "avx512": ({"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_CBWR": "AVX512"},
               ("avx512f", "avx512bw", "avx512vl", "avx512dq")),
}


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def render_env(code_path: str | None = None) -> dict:
    """The environment the copies are executed and checked in: the fixture as the cache,
    computing off, and optionally one of :data:`CODE_PATHS`."""
    env = {**os.environ, "SWAO_CACHE": str(FIXTURE), "SWAO_NO_COMPUTE": "1"}
    env.pop("SWAO_RESULTS", None)
    if code_path is not None:
        env.update(CODE_PATHS[code_path][0])
    return env


def nbval(paths, code_path: str | None = None, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    """Strict nbval over ``paths`` in a fresh process rendering from the fixture."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
           "--nbval-sanitize-with", str(SANITIZE), *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=render_env(code_path), timeout=timeout)


def refresh() -> None:
    """Recompute the fixture at smoke scale (in a scratch cache: no checkpoints kept), then
    re-execute the notebook copies from it alone, with computing off."""
    sys.path.insert(0, str(ROOT / "book"))
    import build  # book/build.py

    with tempfile.TemporaryDirectory() as scratch, mock.patch.dict(os.environ, {"SWAO_CACHE": scratch}):
        build.compute_results("smoke", "cpu")
        new = FIXTURE.with_name(FIXTURE.name + ".new")
        shutil.rmtree(new, ignore_errors=True)
        for result in sorted(Path(scratch).glob("*/result.json")):
            (new / result.parent.name).mkdir(parents=True)
            data = json.loads(result.read_text())  # compact: the same values, a third of the size
            (new / result.parent.name / result.name).write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))
    shutil.rmtree(FIXTURE, ignore_errors=True)
    os.replace(new, FIXTURE)
    with mock.patch.dict(os.environ, {"SWAO_CACHE": str(FIXTURE)}):
        build.run_notebooks("smoke", NOTEBOOKS, compute=False)
    print(f"[fixture] {FIXTURE.relative_to(ROOT)}: {sum(1 for _ in FIXTURE.iterdir())} results; "
          f"{NOTEBOOKS.relative_to(ROOT)} re-executed from it")


if __name__ == "__main__":
    refresh()
