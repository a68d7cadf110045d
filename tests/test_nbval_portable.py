"""nbval holds on any CPU: the executed notebook copies are checked under three CPU code paths.

Why this test exists: the copies once computed their results while nbval ran, and a fresh clone
on another CPU (an Intel Xeon with AVX-512 and AMX, where the copies came from an AMD EPYC)
failed 13 cells: training turns last-bit differences between floating-point paths into other
numbers after a few steps. Now the copies render from a committed results fixture with
computing off (``tests/nbval_fixture.py``), and this test proves, on one machine, that what
they print does not depend on which vectorised kernels the CPU runs: ATen's ``default`` (no
SIMD), ``avx2`` and ``avx512`` paths, each with oneDNN and MKL pinned to the same level.
"""
import json
import re
import subprocess
import sys

import pytest

from nbval_fixture import CODE_PATHS, FIXTURE, NOTEBOOKS, ROOT, cpu_flags, nbval, render_env

COPIES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_fixture_holds_every_result_the_notebooks_read(monkeypatch):
    from swao.book import experiments as ex
    from swao.book.cache import MissingResult
    from swao.training.config import get_config

    for key, value in render_env().items():
        monkeypatch.setenv(key, value)
    config = get_config("smoke")
    reads = {  # each stage the notebooks read, as they read it (computing off: a read, or MissingResult)
        "autoencoders": lambda: [ex.autoencoder_result(config, n, mask_grad=mg) for n, mg in ex.STAGES["autoencoders"]],
        "tables": lambda: [ex.mpe_table(config, n, mask_grad=mg) for n, mg in ex.STAGES["tables"]],
        "figure2": lambda: ex.figure2(config),
        "search": lambda: ex.search_results(config),
        "embedding": lambda: ex.embedding_study(config),
        "mask_grad": lambda: ex.mask_grad_study(config),
        "your_data": lambda: ex.your_data_results(config),
    }
    assert set(reads) == set(ex.stages_for(p.stem for p in COPIES))
    for stage, read in reads.items():
        try:
            read()
        except MissingResult as err:
            pytest.fail(f"{FIXTURE.relative_to(ROOT)} is stale for stage {stage!r} (the computing code changed): "
                        f"run `make nbval-refresh` and commit the fixture with the notebooks.\n{err}")
    assert not list(FIXTURE.glob("*/*.safetensors")), "the fixture holds results only, no checkpoints"


@pytest.mark.parametrize("code_path", list(CODE_PATHS))
def test_notebooks_pass_nbval_under_cpu_code_path(code_path):
    env, needs = CODE_PATHS[code_path]
    missing = [f for f in needs if f not in cpu_flags()]
    if missing:
        pytest.skip(f"this CPU lacks {missing} for the {code_path} code path")
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                           capture_output=True, text=True, env=render_env(code_path), check=True)
    assert probe.stdout.strip().lower() == env["ATEN_CPU_CAPABILITY"], "the code path asked for is the one torch runs"
    result = nbval(COPIES, code_path)
    assert result.returncode == 0, f"nbval under {code_path} ({env}):\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    cells = sum(c["cell_type"] == "code" for p in COPIES for c in json.loads(p.read_text())["cells"])
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) == cells, f"every code cell of the {len(COPIES)} copies is checked: {result.stdout[-500:]}"


@pytest.mark.parametrize("copy", COPIES, ids=lambda p: p.stem)
def test_no_copy_prints_what_only_the_machine_that_made_it_has(copy):
    """nbval compares every output text, stderr included: a warning that names this checkout's
    path (``/work/main/swao/...``) passes where the copy was made and fails in any other clone."""
    outputs = [o for c in json.loads(copy.read_text())["cells"] for o in c.get("outputs", [])]
    texts = ["".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) for o in outputs]
    assert not [o for o in outputs if o.get("name") == "stderr"], f"{copy.name} has stderr output"
    assert not [t for t in texts if str(ROOT) in t], f"{copy.name} prints the path of the checkout that made it"
