"""Every parameter a page declares does something, and says what.

Read from the source notebooks' syntax trees: a parameter is read by the page's code; where
``setup_run`` turns the parameters into ``config`` and a device, both are read; a page that
declares ``retrain`` passes it to every cached result it asks for; and the book build passes a
page only the parameters it declares. The checks fail on the faults they guard against (the
last test plants each one)."""
import ast
import inspect
import json
import sys
from pathlib import Path

import pytest

from swao.book import experiments

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
import build

SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
RECOMPUTING = {name for name in experiments.__all__
               if callable(getattr(experiments, name)) and "recompute" in inspect.signature(getattr(experiments, name)).parameters}


def cells(nb: dict) -> tuple[str, list[str]]:
    """The parameters cell's source and the other code cells' sources."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    return "".join(params[0]["source"]), ["".join(c["source"]) for c in code if c not in params]


def faults(nb: dict) -> list[str]:
    """What is wrong with a notebook's parameters (empty: nothing)."""
    params, body = cells(nb)
    declared = build._assignments(params)
    trees = [ast.parse(src) for src in body]
    nodes = [n for t in trees for n in ast.walk(t)]
    read = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    out = [f"{name} has no comment saying what it does" for name, _, comment in declared if not comment]
    out += [f"{name} is never read" for name, _, _ in declared if name not in read]
    for n in nodes:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and getattr(n.value.func, "id", None) == "setup_run":
            targets = [t.id for t in n.targets[0].elts] if isinstance(n.targets[0], ast.Tuple) else [n.targets[0].id]
            out += [f"setup_run's {t} is never read" for t in targets if t != "_" and t not in read]
    if "retrain" in {name for name, _, _ in declared}:
        for n in nodes:
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", None) == "experiments"
                    and n.func.attr in RECOMPUTING):
                given = {k.arg: k.value for k in n.keywords}
                if not (isinstance(given.get("recompute"), ast.Name) and given["recompute"].id == "retrain"):
                    out.append(f"experiments.{n.func.attr}(...) ignores retrain")
    return out


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_declared_parameter_does_something(path):
    assert faults(json.loads(path.read_text())) == []


def test_the_build_passes_a_page_only_the_parameters_it_declares():
    for path in SOURCES:
        names = build.parameter_names(path)
        assert names, f"{path.name}: no parameters cell"
    assert "scale" not in build.parameter_names(ROOT / "notebooks" / "01_representation.ipynb")


def test_the_checks_find_each_fault():
    def nb(params: str, *body: str) -> dict:
        return {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": params}]
                + [{"cell_type": "code", "metadata": {}, "source": b} for b in body]}

    good = nb('scale = "small"  # the sizes\nretrain = False  # again', "config, dev = setup_run(scale)\n"
              "r = experiments.search_results(config, dev, recompute=retrain)")
    assert faults(good) == []
    assert faults(nb('scale = "small"', "print(scale)")) == ["scale has no comment saying what it does"]
    assert faults(nb('seed = 0  # s', "print(1)")) == ["seed is never read"]
    assert faults(nb('scale = 1  # s', "config, dev = setup_run(scale)\nprint(config)")) == ["setup_run's dev is never read"]
    assert faults(nb('retrain = False  # r', "experiments.search_results(1, recompute=retrain)\nexperiments.mpe_table(1, 2)")) \
        == ["experiments.mpe_table(...) ignores retrain"]


def test_the_rendered_parameter_block_has_every_value_and_its_comment(tmp_path):
    import nbformat

    def page(*cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = list(cells)
        return nb

    def param_cell():
        return nbformat.v4.new_code_cell('scale = "small"  # the sizes\nseed = 0  # the draws',
                                         metadata={"tags": ["parameters", "hide-input"]})

    nb = page(param_cell(), nbformat.v4.new_code_cell('scale = "smoke"', metadata={"tags": ["injected-parameters"]}))
    build.one_parameter_block(nb)
    source, injected = nb.cells
    assert 'scale = "smoke"  # the sizes' in injected.source and "seed = 0  # the draws" in injected.source
    assert "remove-cell" in source.metadata["tags"]
    nb = page(param_cell())  # run with its defaults: nothing injected, the source cell shows the block
    build.one_parameter_block(nb)
    (source,) = nb.cells
    assert source.source.startswith("# Parameters (the values this page was run with")
    assert 'scale = "small"  # the sizes' in source.source and "hide-input" not in source.metadata["tags"]


def test_each_page_ends_with_the_command_that_reruns_it_and_its_measured_time(tmp_path):
    import nbformat

    page = nbformat.v4.new_notebook()
    source = ROOT / "notebooks" / "03_autoencoder_training.ipynb"
    build.add_rerun_box(page, source, {"scale": "smoke", "device": "cpu"}, 5.83, 2, False)
    box = page.cells[-1].source
    assert "`papermill notebooks/03_autoencoder_training.ipynb 03_autoencoder_training-rerun.ipynb -k python3 --cwd . -p scale smoke -p device cpu`" in box
    assert "5.8 s at the `smoke` scale on " in box and "2 pages at once" in box and "measurements page" in box
    # the executed copies carry it
    copy = nbformat.read(ROOT / "tests" / "notebooks" / "03_autoencoder_training.ipynb", as_version=4)
    assert "Rerun this page" in copy.cells[-1].source and "papermill notebooks/03_autoencoder_training.ipynb" in copy.cells[-1].source


def test_the_binder_link_names_the_repository_the_book_is_built_from_and_no_other(monkeypatch):
    """_config.yml names no repository (this project's public address is not known here): the CI's
    one is used, and without it there is no link."""
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    page = ROOT / "notebooks" / "05_sparse_search.ipynb"
    assert build.repository() is None
    assert "mybinder.org" not in build.launch(page) and "_config.yml" in build.launch(page)
    monkeypatch.setenv("GITHUB_REPOSITORY", "someone/swao-fork")
    monkeypatch.setenv("GITHUB_REF_NAME", "work")
    assert build.repository() == ("someone/swao-fork", "work")
    assert "https://mybinder.org/v2/gh/someone/swao-fork/work?labpath=notebooks%2F05_sparse_search.ipynb" in build.launch(page)


def test_the_box_quotes_each_scales_measured_rerun_time_and_names_the_scales_not_measured(tmp_path, monkeypatch):
    page, plain = ROOT / "notebooks" / "04_mpe_evaluation.ipynb", ROOT / "notebooks" / "01_representation.ipynb"
    times = tmp_path / "page_times.json"
    monkeypatch.setattr(build, "PAGE_TIMES", times)
    assert "not measured yet (`python benchmarks/page_times.py --scale smoke` measures it)" in build.measured_rerun_times(plain, {})
    entry = {"machine": "Some CPU, 2 cores", "device": "cpu", "commit": "abc1234", "date": "2026-12-07 18:10 UTC",
             "command": "python benchmarks/page_times.py --scale small", "seconds": {page.stem: 243.4, plain.stem: 4.04}}
    times.write_text(json.dumps({"small": entry}))
    said = build.measured_rerun_times(page, {"scale": "small", "device": "cpu"})
    assert "\n- at `small`: 4 min 3 s (Some CPU, 2 cores, commit `abc1234`, 2026-12-07)" in said
    assert "\n- at `smoke`: not measured yet (`python benchmarks/page_times.py --scale smoke` measures it)" in said
    assert "\n- at `paper`: not measured yet (on a GPU, `python benchmarks/page_times.py --scale paper --device cuda`" in said
    assert build.measured_rerun_times(plain, {}).endswith("rerun), it took 4.0 s (Some CPU, 2 cores, commit `abc1234`, 2026-12-07).")
    assert [build.duration(s) for s in (14.23, 59.96, 60, 3725)] == ["14.2 s", "60.0 s", "1 min 0 s", "1 h 2 min"]


def test_the_committed_page_times_name_pages_of_the_book_and_how_they_were_measured():
    if not build.PAGE_TIMES.exists():
        pytest.skip("benchmarks/page_times.json: no page measured yet")
    stems = {nb.stem for nb in build.NOTEBOOKS}
    for scale, entry in json.loads(build.PAGE_TIMES.read_text()).items():
        assert scale in build.SCALES and entry["device"] in ("cpu", "cuda")
        assert entry["command"].startswith(f"python benchmarks/page_times.py --scale {scale}")
        assert entry["machine"] and entry["date"].endswith("UTC") and "+uncommitted" not in entry["commit"]
        assert entry["seconds"] and set(entry["seconds"]) <= stems and all(s > 0 for s in entry["seconds"].values())


def test_the_page_times_benchmark_runs_the_boxs_own_command_with_an_empty_cache(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import page_times

    seconds = page_times.rerun_alone(ROOT / "notebooks" / "01_representation.ipynb", "smoke", "cpu", tmp_path)
    assert seconds > 0 and (tmp_path / "01_representation-rerun.ipynb").exists()
    with pytest.raises(SystemExit):
        page_times.main(["--scale", "smoke", "--pages", "nope", "--out", str(tmp_path / "t.json")])
    assert "--pages: nope is not a page of the book (pages: 00_framework, " in capsys.readouterr().err
