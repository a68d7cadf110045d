"""The scaling study's trend (swao.ours.scaling_law) on made-up studies whose answer is known."""
import math

import pytest

from swao.render import reports
from swao.ours import scaling_law as scaling


def study(cells_at, passes=(25_000, 100_000, 1_600_000), paper_best=(5.84, 23.7, 24.1, 24.4)):
    """A study whose runs' tables have ``cells_at(passes, e)`` as decoder D2's cell (the best; the
    other decoders 10x worse), and whose paper table has ``paper_best`` in D1's row."""
    runs = []
    for k, n in enumerate(passes):
        best = [cells_at(n, e) for e in range(4)]
        table = [[10 * v for v in best], best, [10 * v for v in best], [10 * v for v in best]]
        runs.append({"factor": 2.0**k, "mlp_passes": n, "table": table, "best_median": [v / 2 for v in best],
                     "best_mean": best})
    paper = [list(paper_best), [99.0] * 4, [99.0] * 4, [99.0] * 4]
    return {"runs": runs, "paper_table1_min": paper, "paper_mlp_passes": 12_800_000, "eval_mlps": 200,
            "command": "test", "floors": {"constant": {"median": [50.0, 25.9, 7.0, 2.2]}}}


def test_power_law_recovers_its_exponent():
    a, b = scaling.power_law([1e4, 1e5, 1e6], [300.0, 150.0, 75.0])  # halves per 10x: b = log10(0.5)
    assert b == pytest.approx(math.log10(0.5)) and a * 1e4**b == pytest.approx(300.0)
    with pytest.raises(ValueError, match="positive"):
        scaling.power_law([1e4, 1e5], [1.0, 0.0])


def test_best_cell_takes_the_minimum_over_decoders_per_encoder():
    s = study(lambda n, e: 10.0 + e)
    assert scaling.view(s["runs"][0], "best_cell") == [10.0, 11.0, 12.0, 13.0]
    assert scaling.paper_best_cell(s) == [5.84, 23.7, 24.1, 24.4]  # decoders are rows: min down each column
    with pytest.raises(ValueError, match="view must be one of"):
        scaling.view(s["runs"][0], "best")


def test_a_trend_that_lands_on_the_paper_reaches_it_and_a_flat_one_does_not():
    paper = (5.84, 23.7, 24.1, 24.4)
    # MPE = paper * (12.8 M / passes)^0.3: the fit passes exactly through the paper's values
    landing = study(lambda n, e: paper[e] * (12_800_000 / n) ** 0.3)
    t = scaling.trend(landing)
    assert [x["predicted"] for x in t] == pytest.approx(list(paper), rel=1e-9)
    assert [x["per_decade"] for x in t] == pytest.approx([10**-0.3] * 4)
    v = scaling.verdict(landing)
    assert v["per_encoder"] == ["reaches"] * 4 and v["whole"] == "compute explains the gap"
    assert v["extrapolation"] == pytest.approx(8.0)
    flat = study(lambda n, e: 60.0)
    assert scaling.verdict(flat) == {**scaling.verdict(flat), "per_encoder": ["far"] * 4, "whole": "it does not"}
    rising = study(lambda n, e: 20.0 * (n / 25_000) ** 0.01)  # within 2x of E2-E4's paper but not falling
    assert scaling.verdict(rising)["per_encoder"] == ["far"] * 4
    mixed = study(lambda n, e: paper[e] * (12_800_000 / n) ** 0.3 * (1.6 if e == 0 else 1.0))
    assert scaling.verdict(mixed)["per_encoder"] == ["between", "reaches", "reaches", "reaches"]
    assert scaling.verdict(mixed)["whole"] == "cannot tell yet"


def fmt_cell(s, run, e):
    return f"{scaling.view(s['runs'][run], 'best_cell')[e]:.1f}"


def test_the_table_and_the_verdict_are_written_from_the_numbers():
    paper = (5.84, 23.7, 24.1, 24.4)
    s = study(lambda n, e: paper[e] * (12_800_000 / n) ** 0.3)
    t = reports.scaling_table(s)
    assert t.header == ["training budget", "E1", "E2", "E3", "E4"] and len(t.rows) == 3 + 4
    by = {row[0]: row[1:] for row in t.rows}
    assert by["x1 (0.025 M passes)"][0] == fmt_cell(s, 0, 0)
    assert by["per 10x compute"][0] == "x0.50" and by["the fit at 12.8 M"][0] == "5.8" and by["the paper (12.8 M)"][0] == "5.84"
    assert by["the fit against the paper"] == ["reaches"] * 4
    m = {row[0]: row[1:] for row in reports.scaling_median_table(s).rows}
    assert m["per 10x compute"][0] == "x0.50" and m["constant floor (median)"] == ["50.0", "25.9", "7.0", "2.2"]
    text = reports.scaling_verdict(s)
    assert "**The paper's view (best cells): compute explains the gap.**" in text and "8.0x further" in text
    assert "**The robust view (medians): falls with compute on 4 of 4 encoders.**" in text


def budget_curve(steps=(250, 500), warm=()):
    """A made-up paper-budget curve (studies/paper_budget.py's export) with known numbers."""
    val = [{"step": s, "mlp_passes": s * 1024, "best_decoder_median": [40.0 - k, 30.0, 20.0, 10.0],
            "near_constant_share": [0.5, 0.25, 0.75, 1.0], "median_correlation": [0.5, 0.1, -0.05, 0.0],
            "dead_decoders": ["D1"] if k else []} for k, s in enumerate(steps)]
    table = [[60.0, 70.0, 200.0, 2000.0]] * 4
    return {"mlp_passes": steps[-1] * 1024, "paper_mlp_passes": 12_800_000, "steps": steps[-1], "total_steps": 12_500,
            "hours": 1.5, "segments": [{"cpu": "CPU A", "seconds": 3600}, {"cpu": "CPU B", "seconds": 1800}],
            "warm_starts": [{"step": w} for w in warm], "validation_mlps_per_encoder": 512, "val": val,
            "floors": {"constant": {"median": [50.0, 26.0, 7.0, 2.0]}},
            "recipe_differences": ["batch 1024 instead of the authors' 32"], "config": {"batch_size": 1024, "lr": 1e-3, "width": 1.0},
            "scored": [{"steps": s, "mlp_passes": s * 1024, "table": table, "best_median": [40.0] * 4,
                        "best_mean": [50.0] * 4} for s in steps],
            "provenance": {"scale": "paper", "hardware": "CPU A", "commit": "abc", "date": "today"}}


def test_the_paper_budget_summary_says_how_far_and_where_from_the_numbers():
    text = reports.paper_budget_summary(budget_curve())
    assert "0.51 M of 12.8 M MLP passes (4 %)" in text and "step 500 of 12,500" in text and "1.5 h" in text
    assert "2 segment(s)" in text and "CPU A; CPU B" in text
    assert "39.0 / 30.0 / 20.0 / 10.0 %" in text and "50.0 / 26.0 / 7.0 / 2.0 %" in text  # the last validation, the floors
    assert "50 % / 25 % / 75 % / 100 %" in text and "dead decoders: D1" in text and "batch 1024" in text
    assert "Warm starts" not in text and "complete" not in text
    assert "**Our recipe at the paper's budget" in text and "by our recipe, batch 1,024 at lr 0.001 (12,500 updates" in text
    done = budget_curve(steps=(250, 12_500), warm=(300,))
    text = reports.paper_budget_summary(done)
    assert "(100 %)" in text and "The run is complete." in text and "at step 300" in text
    table1 = {"steps": 12_500, "eval_mlps": 1000, "table": [[60.0, 70.0, 200.0, 2000.0], [6.0, 24.0, 30.0, 40.0]] + [[99.0] * 4] * 2,
              "best_median": [20.0, 15.0, 10.0, 5.0], "floors": {"constant": {"median": [50.0, 26.0, 7.0, 2.0]}}}
    text = reports.paper_budget_summary(done, table1)
    assert "the weights of step 12,500, 1,000 test MLPs per encoder" in text
    assert "best cells 6.0 / 24.0 / 30.0 / 40.0 % against the paper's 5.84 / 23.70 / 24.10 / 24.40 %" in text
    assert "best-decoder median 20.0 / 15.0 / 10.0 / 5.0 % against the constant floor's 50.0 / 26.0 / 7.0 / 2.0 %" in text


def test_the_paper_budget_run_is_set_against_the_scaling_fit_at_its_own_passes():
    # the fit: D2's cell = 1e8 / passes (x0.1 per 10x), the median half of it; at 512,000 passes: 195.3 / 97.7
    s = study(lambda n, e: 1e8 / n)
    curve = budget_curve()  # last scored stop: step 500 = 512,000 passes, medians 40 on every encoder
    curve["scored"][-1]["table"] = [[500.0, 60.0, 60.0, 60.0]] * 4  # E1 above the fit's best cell, E2-E4 below
    text = reports.paper_budget_against_fit(curve, s)
    assert "at this run's 0.51 M passes, 0.3x its largest budget" in text and "step 500" in text and "200 test MLPs" in text
    assert "best-decoder median 40.0 / 40.0 / 40.0 / 40.0 % against the fit's 97.7 / 97.7 / 97.7 / 97.7 % (below it on 4 of 4" in text
    assert "best cell (mean) 500.0 / 60.0 / 60.0 / 60.0 % against the fit's 195.3 / 195.3 / 195.3 / 195.3 % (below it on 3 of 4" in text
    assert text in reports.paper_budget_summary(curve, scaling=s)
    assert "scaling study's prediction" not in reports.paper_budget_summary(curve)


def test_the_paper_budget_figures_draw_from_the_curve():
    from swao.render import learning_plots as plots

    curve = budget_curve()
    fig = plots.plot_paper_budget(curve)
    top = fig.axes[0]
    assert [list(line.get_ydata()) for line in top.lines if line.get_marker() == "o"][0] == [40.0, 39.0]
    s = study(lambda n, e: 10.0 + e)
    with_run = plots.plot_scaling(s, curve)
    squares = [line for line in with_run.axes[0].lines if line.get_marker() == "s"]
    assert len(squares) == 4 and list(squares[0].get_xdata()) == [256_000, 512_000]
    assert not [line for line in plots.plot_scaling(s).axes[0].lines if line.get_marker() == "s"]
    plots.plt.close("all")
