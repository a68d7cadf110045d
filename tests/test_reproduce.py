"""``swao reproduce``: the paper-scale trim, the plan, the export and the command line."""
import json

import pytest

from swao import reproduce as rp
from swao.cache import provenance
from swao.config import get_config
from swao.tables import provenance_note


def test_paper_run_is_trimmed_unless_full_and_says_so():
    trimmed, full = rp.run_config("paper"), rp.run_config("paper", full=True)
    assert full == get_config("paper")
    assert trimmed == get_config("paper", **rp.PAPER_TRIM)
    assert rp.run_config("small") == get_config("small")  # only the paper scale is trimmed
    assert rp.run_config("paper", search_steps=123).search_steps == 123
    # the trim keeps the paper's lr schedule shape: one halving, at the middle of training
    assert trimmed.epochs / trimmed.lr_halve_epochs == full.epochs / full.lr_halve_epochs
    # every table made from it names the sizes against the paper's
    assert "25 % of the paper's 12,800,000" in trimmed.describe()
    assert "search 6,000 steps (20 % of the paper's 30,000)" in trimmed.describe()
    assert "(the paper's)" in full.describe()
    note = provenance_note(provenance("cpu", trimmed))
    assert "**paper scale**" in note and "Sizes: autoencoders trained on 3,200,000 MLPs x 1 epoch(s)" in note


def test_plan_estimates_every_stage_and_suggests_sizes_that_fit():
    config = get_config("smoke")
    p = rp.plan(config, "cpu", calibration_steps=2, budget_s=1e-3)
    assert list(p["seconds"]) == list(rp.STAGES)
    assert all(t >= 0 for t in p["seconds"].values()) and p["seconds"]["autoencoders"] > 0
    assert p["total_seconds"] == pytest.approx(sum(p["seconds"].values()))
    assert p["fits"] is False and p["rates"]["train_mlps_per_s"] > 0
    assert set(p["suggest"]) == {"train_mlps", "search_steps"}
    assert p["suggest"]["train_mlps"] % config.batch_size == 0
    text = rp.format_plan(p)
    assert "does NOT fit" in text and "--set train_mlps=" in text
    # without a budget: no verdict; a subset of stages is estimated alone
    q = rp.plan(config, "cpu", stages=("tables",), calibration_steps=1)
    assert list(q["seconds"]) == ["tables"] and q["fits"] is None and q["suggest"] == {}
    assert "budget" not in rp.format_plan(q)


def test_suggested_sizes_scale_the_variable_stages_only():
    config = get_config("paper")
    est = {"autoencoders": 500.0, "tables": 100.0, "search": 500.0}
    s = rp._suggest(config, est, budget_s=600.0)  # 500 s left for 1000 s of scalable work
    assert s["search_steps"] == config.search_steps // 2
    assert s["train_mlps"] == config.train_mlps // 2 // config.batch_size * config.batch_size  # whole batches
    assert rp._suggest(config, est, budget_s=2000.0) == {}


@pytest.mark.parametrize("bad, match", [
    (["epochs"], "key=value"), (["colour=3"], "key among"), (["scale=paper"], "key among"),
    (["epochs=two"], "epochs must be an int"), (["lr=fast"], "lr must be a number"),
])
def test_set_errors_name_the_parameter(bad, match, capsys):
    assert rp.cli_main(["--scale", "smoke", "--plan", "--set", *bad]) == 2
    assert match in capsys.readouterr().err


def test_cli_rejects_bad_budget_and_bad_values(capsys):
    assert rp.cli_main(["--scale", "smoke", "--plan", "--budget-minutes", "0"]) == 2
    assert "--budget-minutes must be > 0" in capsys.readouterr().err
    assert rp.cli_main(["--scale", "smoke", "--stages", "tables", "--set", "epochs=0", "--no-export"]) == 2
    assert "epochs must be >= 1" in capsys.readouterr().err


def test_reproduce_exports_each_stage_with_sizes_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    summary = rp.reproduce("smoke", "cpu", stages=("autoencoders", "tables"), results_dir=out)
    assert set(summary) == {"autoencoders", "tables"}
    run = json.loads((out / "run.json").read_text())
    assert set(run["seconds"]) == {"autoencoders", "tables"} and run["config"]["scale"] == "smoke"
    assert run["provenance"]["sizes"] == get_config("smoke").describe()
    tables = json.loads((out / "tables.json").read_text())
    assert set(tables) == set(rp.ex.AUTOENCODERS)
    assert tables["sigmoid-min"]["provenance"]["sizes"] == get_config("smoke").describe()
    assert not list(out.glob(".*.tmp"))  # nothing half-written
    with pytest.raises(ValueError, match="stages must be among"):
        rp.reproduce("smoke", "cpu", stages=("tables", "everything"), results_dir=out)


def test_fit_runs_smaller_sizes_when_the_plan_overruns(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    smoke = get_config("smoke")
    rp.reproduce("smoke", "cpu", stages=("autoencoders",), results_dir=out, fit_budget_s=1e-3)
    run = json.loads((out / "run.json").read_text())
    assert run["plan"]["fits"] is False
    assert run["config"]["train_mlps"] == run["plan"]["suggest"]["train_mlps"] < smoke.train_mlps
    assert run["provenance"]["sizes"].startswith(f"autoencoders trained on {run['config']['train_mlps']:,} MLPs")
    # a budget the plan fits leaves the sizes alone
    rp.reproduce("smoke", "cpu", stages=("tables",), results_dir=out, fit_budget_s=1e6)
    run = json.loads((out / "run.json").read_text())
    assert run["plan"]["fits"] is True and run["config"] == smoke.to_dict()
