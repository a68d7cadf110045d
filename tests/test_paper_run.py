"""An exported run (what a GPU session commits to ``results/paper/``) shows in every notebook.

The notebooks' paper-scale sections run only when ``results/paper/`` holds a run, which no CPU
session makes; here a smoke-scale run is exported as if it were one (``$SWAO_RESULTS``), the
notebooks run against it, and each paper-scale table and figure must appear.
"""
import json
import sys
from pathlib import Path

import pytest

from swao.book.reproduce import reproduce

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
import build  # noqa: E402  (book/build.py: runs notebooks with papermill)

# notebook -> texts that only its paper-scale sections print
EXPECTED = {
    "03_autoencoder_training": ["Training at paper scale: where each autoencoder ended", "| linear-min", "constant (oracle), sigmoid MLPs"],
    "04_mpe_evaluation": ["Paper-scale results", "Figure 2 at paper scale."],
    "05_sparse_search": ["Table 2 at paper scale"],
    "06_beyond_the_paper": ["mask_grad=straight_through (paper scale): test MPE"],
    "08_findings": ["ours, paper scale", "At paper scale, of the paper's"],
    "09_your_data": ["Your data at paper scale"],
}


def _texts(nb_path: Path) -> str:
    out = []
    for cell in json.loads(nb_path.read_text())["cells"]:
        for o in cell.get("outputs", []):
            out.append("".join(o.get("text", "")))
            out.append("".join(o.get("data", {}).get("text/plain", "")))
            out.append("".join(o.get("data", {}).get("text/markdown", "")))
    return "\n".join(out)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paper_run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWAO_CACHE", str(tmp / "cache"))
        mp.setenv("SWAO_RESULTS", str(tmp / "results"))
        reproduce("smoke", "cpu", export=tmp / "results" / "paper")  # stands in for a GPU run
        build.run_notebooks("smoke", tmp / "out", only=list(EXPECTED))
    return tmp / "out"


@pytest.fixture(scope="module")
def stand_in(executed):
    """The exported stand-in run itself (made by the compute stage on this CPU)."""
    return executed.parent / "results" / "paper"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_paper_sections_render_an_exported_run(executed, name):
    text = _texts(executed / f"{name}.ipynb")
    assert "No paper-scale run" not in text
    for expected in EXPECTED[name]:
        assert expected in text, f"{expected!r} missing from {name}"


def test_paper_tables_name_their_sizes(executed):
    text = _texts(executed / "04_mpe_evaluation.ipynb")
    # the stand-in run is labelled with the scale and sizes it was really made at: here they are
    # ours (the stand-in is the smoke run exported), so the page gives them in full once, at its
    # top, and the paper section's tables point to it
    assert text.count("Sizes: autoencoders trained on 512 MLPs") == 1
    assert "smoke scale** (provenance at the top of the page)" in text
    five = json.loads((executed / "05_sparse_search.ipynb").read_text())
    cell = next(c for c in five["cells"] if c.get("id") == "paper-figs")
    images = sum("image/png" in o.get("data", {}) for o in cell["outputs"])
    assert images == 1 + 3 * 3, "Figure 4, then Figures 3, 5, 6 for each of the three MLP types"
    assert any("Compactness against error" in "".join(o.get("data", {}).get("text/markdown", "")) for o in cell["outputs"])
    for name, captions in (("04_mpe_evaluation", ("Floors: the best decoder's median MPE",)),
                           ("06_beyond_the_paper", ("Search against baselines", "Spread over"))):
        shown = [o["data"]["text/markdown"] for c in json.loads((executed / f"{name}.ipynb").read_text())["cells"]
                 for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
        for caption in captions:  # ours, then the paper run's
            assert sum(caption in "".join(t) for t in shown) == 2, (name, caption)


def test_the_compute_stage_is_consistent_on_this_cpu(stand_in):
    """The computation, checked with tolerances where the notebooks only read its results:
    finite training losses that fall, and every Table 2 cell's MPE and non-zero count as its
    exported MLP, run as a plain ``nn.Sequential`` on the test split, gives them."""
    import torch

    from swao.training.config import Config
    from swao.method.metrics import mpe
    from swao.method.representation import nonzero_count, to_sequential
    from swao.ours.table2 import table2_datasets

    for name, result in json.loads((stand_in / "autoencoders.json").read_text()).items():
        loss = result["history"]["loss"]
        assert all(torch.isfinite(torch.tensor(loss))), name
        assert min(loss[len(loss) // 2:]) < loss[0], f"{name}: the training loss falls"
    search = json.loads((stand_in / "search.json").read_text())
    config = Config(**search["config"])
    checked = 0
    for act, entry in search["types"].items():
        data = table2_datasets(act, config.search_points, search["seed"])
        for method in ("search", "direct", "pruned"):
            for ds, cells in entry[method].items():
                for cell in cells.values():
                    matrix = torch.tensor(cell["matrix"])
                    assert int(nonzero_count(matrix)) == cell["nonzeros"]
                    with torch.no_grad():
                        y_hat = to_sequential(matrix, act)(data[ds]["x_test"]).squeeze(-1)
                    assert float(mpe(y_hat, data[ds]["y_test"])) == pytest.approx(cell["mpe"], rel=1e-3, abs=1e-3)
                    checked += 1
    assert checked == 3 * 3 * 3 * 4  # types x methods x datasets x decoders
