"""``swao reproduce``: the paper-scale trim, the plan, the export and the command line."""
import json

import pytest
import torch

from swao.book import plan as pl
from swao.book import reproduce as rp
from swao.cli import reproduce as cli
from swao.book.provenance import provenance
from swao.training.config import get_config
from swao.render.tables import provenance_note


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


def test_plan_estimates_every_stage_and_suggests_sizes_that_fit(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))  # nothing cached: every autoencoder counts
    config = get_config("smoke")
    p = pl.plan(config, "cpu", calibration_steps=1, budget_s=1e-3)
    assert list(p["seconds"]) == list(rp.STAGES)
    assert all(t >= 0 for t in p["seconds"].values()) and p["seconds"]["autoencoders"] > 0
    assert p["total_seconds"] == pytest.approx(sum(p["seconds"].values()))
    assert p["fits"] is False and p["rates"]["train_mlps_per_s"] > 0
    assert p["suggest"] == {} and "less than 5 %" in p["cannot_fit"]  # 1 ms: nothing fits
    assert "does NOT fit" in pl.format_plan(p) and "cannot fit:" in pl.format_plan(p)
    scalable = sum(p["seconds"][s] for s in ("autoencoders", "mask_grad", "search"))
    budget = p["total_seconds"] - 0.5 * scalable
    p.update(zip(("suggest", "cannot_fit"), pl._suggest(config, p["seconds"], budget)))
    assert set(p["suggest"]) == {"train_mlps", "search_steps"} and p["cannot_fit"] is None
    assert p["suggest"]["train_mlps"] % config.batch_size == 0 and p["suggest"]["search_steps"] <= config.search_steps // 2
    assert "--set train_mlps=" in pl.format_plan(p)
    # without a budget: no verdict; a subset of stages is estimated with the training it needs
    q = pl.plan(config, "cpu", stages=("tables",), calibration_steps=1)
    assert list(q["seconds"]) == ["autoencoders", "tables"] and q["fits"] is None and q["suggest"] == {}
    assert q["rates"]["autoencoders_to_train"] == 5
    assert "budget" not in pl.format_plan(q)


def test_suggested_sizes_scale_the_variable_stages_only():
    config = get_config("paper")
    est = {"autoencoders": 500.0, "tables": 100.0, "search": 500.0}
    s, why = pl._suggest(config, est, budget_s=600.0)  # 500 s left for 1000 s of scalable work
    assert why is None and s["search_steps"] == config.search_steps // 2
    assert s["train_mlps"] == config.train_mlps // 2 // config.batch_size * config.batch_size  # whole batches
    s, _ = pl._suggest(config, est, budget_s=587.0)  # f = 0.487: two significant digits, rounded down
    assert s["search_steps"] == 14_000 and s["train_mlps"] == 1_500_000 // 1024 * 1024
    assert pl._suggest(config, est, budget_s=2000.0) == ({}, None)
    # the other stages alone overrun: no junk sizes, a reason instead
    s, why = pl._suggest(config, {"autoencoders": 500.0, "tables": 700.0}, budget_s=600.0)
    assert s == {} and "less than 5 %" in why and "'tables': 700" in why
    assert [pl._round_down(x) for x in (0.5, 7, 99, 1234, 98_765)] == [0, 7, 99, 1200, 98_000]


def test_autoencoders_needed_follow_the_stages_and_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))
    config = get_config("smoke")
    assert len(pl.autoencoders_needed(config, ("tables",))) == 5
    assert [n for n, _ in pl.autoencoders_needed(config, ("search",))] == sorted(rp.ex.MIN_LOSS.values())
    assert pl.autoencoders_needed(config, ("mask_grad",)) == [("sigmoid-min", "none"), ("sigmoid-min", "straight_through")]
    rp.ex.autoencoder(config, "sigmoid-min", "cpu")  # now cached
    assert pl.autoencoders_needed(config, ("mask_grad",)) == [("sigmoid-min", "straight_through")]
    assert pl.autoencoders_needed(config, ("figure2",)) == [("leaky_relu-min", "none"), ("linear-min", "none")]


@pytest.mark.parametrize("bad, match", [
    (["epochs"], "key=value"), (["colour=3"], "key among"), (["scale=paper"], "key among"),
    (["epochs=two"], "epochs must be an int"), (["lr=fast"], "lr must be a number"),
])
def test_set_errors_name_the_parameter(bad, match, capsys):
    assert cli.cli_main(["--scale", "smoke", "--plan", "--set", *bad]) == 2
    assert match in capsys.readouterr().err


def test_cli_rejects_bad_budget_and_bad_values(capsys):
    assert cli.cli_main(["--scale", "smoke", "--plan", "--budget-minutes", "0"]) == 2
    assert "--budget-minutes must be > 0" in capsys.readouterr().err
    assert cli.cli_main(["--scale", "smoke", "--budget-minutes", "5"]) == 2
    assert "--budget-minutes needs --plan or --fit" in capsys.readouterr().err
    assert cli.cli_main(["--scale", "smoke", "--stages"]) == 2
    assert "stages must be one or more" in capsys.readouterr().err
    # a whole float is written as the configs write it, so the cache key is the same
    assert cli._overrides(["lr_halve_epochs=2.0", "lr=0.5"]) == {"lr_halve_epochs": 2, "lr": 0.5}
    assert isinstance(cli._overrides(["lr_halve_epochs=2"])["lr_halve_epochs"], int)
    assert cli.cli_main(["--scale", "smoke", "--stages", "tables", "--set", "epochs=0", "--no-export"]) == 2
    assert "epochs must be >= 1" in capsys.readouterr().err


def test_reproduce_exports_each_stage_with_sizes_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    summary = rp.reproduce("smoke", "cpu", stages=("autoencoders", "tables"), export=out)
    assert set(summary) == {"autoencoders", "tables"}
    run = json.loads((out / "run.json").read_text())
    assert set(run["seconds"]) == {"autoencoders", "tables"} and run["config"]["scale"] == "smoke"
    assert run["provenance"]["sizes"] == get_config("smoke").describe()
    tables = json.loads((out / "tables.json").read_text())
    assert set(tables) == set(rp.ex.AUTOENCODERS)
    assert tables["sigmoid-min"]["provenance"]["sizes"] == get_config("smoke").describe()
    assert not list(out.glob(".*.tmp"))  # nothing half-written
    with pytest.raises(ValueError, match="stages must be one or more of"):
        rp.reproduce("smoke", "cpu", stages=("tables", "everything"), export=out)


def test_fit_runs_smaller_sizes_when_the_plan_overruns(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    smoke = get_config("smoke")
    half = 0.5 * pl.plan(smoke, "cpu", stages=("autoencoders",), calibration_steps=1)["total_seconds"]
    rp.reproduce("smoke", "cpu", stages=("autoencoders",), export=out, fit_budget_s=half)
    run = json.loads((out / "run.json").read_text())
    assert run["plan"]["fits"] is False
    assert run["config"]["train_mlps"] == run["plan"]["suggest"]["train_mlps"] < smoke.train_mlps
    assert run["provenance"]["sizes"].startswith(f"autoencoders trained on {run['config']['train_mlps']:,} MLPs")
    # a budget the plan fits leaves the sizes alone; one no size can fit is refused
    with pytest.raises(ValueError, match="less than 5 %"):
        rp.reproduce("smoke", "cpu", stages=("autoencoders",), export=out, fit_budget_s=1e-3)
    rp.reproduce("smoke", "cpu", stages=("tables",), export=out, fit_budget_s=1e6)
    run = json.loads((out / "run.json").read_text())
    assert run["plan"]["fits"] is True and run["config"] == smoke.to_dict()


@pytest.mark.skipif(rp.processes_for("cpu", 2) < 2, reason="needs 2 CPU cores")
def test_autoencoders_trained_at_once_are_those_trained_alone(tmp_path, monkeypatch):
    """The compute stage trains its autoencoders several at once, each in a process of its own
    on TRAIN_THREADS threads: the same bits as one trained alone in this process."""
    from safetensors.torch import load_file

    config = get_config("smoke")
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "at-once"))
    threads = torch.get_num_threads()
    assert rp.train_at_once(config, "cpu", ("mask_grad",), progress=False) == 2  # sigmoid-min, both mask kinds
    assert rp.train_at_once(config, "cpu", ("mask_grad",), progress=False) == 0  # cached now
    at_once = {mg: rp.ex.autoencoder_folder(config, "sigmoid-min", mg) for mg in ("none", "straight_through")}
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "alone"))
    for mg, folder in at_once.items():
        result = rp.ex.autoencoder_result(config, "sigmoid-min", "cpu", mask_grad=mg, progress=False)
        alone = load_file(rp.ex.autoencoder_folder(config, "sigmoid-min", mg) / result["checkpoint"])
        together = load_file(folder / result["checkpoint"])
        assert alone.keys() == together.keys() and all(torch.equal(alone[k], together[k]) for k in alone), mg
    assert torch.get_num_threads() == threads  # the training's own thread count was put back


def test_recompute_trains_anew_instead_of_resuming(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))
    config = get_config("smoke")
    _, first = rp.ex.autoencoder(config, "linear-min", "cpu")
    _, again = rp.ex.autoencoder(config, "linear-min", "cpu", recompute=True)
    assert again["history"]["step"] == first["history"]["step"]  # every step ran again, none resumed
    assert again["train_seconds"] > 0.2 * first["train_seconds"]


def test_a_failing_stage_is_named_in_run_json(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))

    def boom(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(rp.ex, "figure2", boom)
    with pytest.raises(RuntimeError, match="out of memory"):
        rp.reproduce("smoke", "cpu", stages=("autoencoders", "figure2"), export=tmp_path / "out", progress=False)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["error"] == "figure2: RuntimeError: out of memory" and set(run["seconds"]) == {"autoencoders", "figure2"}
    assert set(json.loads((tmp_path / "out" / "autoencoders.json").read_text())) == set(rp.ex.AUTOENCODERS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_reproduce_and_plan_smoke(tmp_path, monkeypatch):
    """The whole paper-scale path at smoke sizes on the GPU: every stage, exported, and a plan."""
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    rp.reproduce("smoke", "cuda", export=tmp_path / "out", progress=False)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["error"] is None and set(run["seconds"]) == set(rp.STAGES)
    assert "cuda" in run["provenance"]["device"]
    p = pl.plan(get_config("smoke"), "cuda", calibration_steps=2, budget_s=600)
    assert p["total_seconds"] >= 0 and p["fits"] is not None
