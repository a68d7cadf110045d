"""The book's figures are legible as rendered: scaled to the page's column, the smallest text of
each is at least MIN_PX pixels high (issue 27: Figure 1's text was ~7 px, Figure 2's legends ~4)."""
import numpy as np
import torch
import pytest

from swao.render import plots


def entry(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=1000)
    return {"depth": 2, "y": y.tolist(), "decoded": [(y + rng.normal(size=1000)).tolist() for _ in range(4)],
            "mpe": [12.0, 34.0, 56.0, 78.0]}


def history(scale: float) -> dict:
    return {"history": {"step": [1, 2, 3], "loss": [3.0 * scale, 2.0 * scale, 1.0 * scale],
                        "val": [{"step": 3, "best_mean": 50.0, "best_decoder_median": [40.0, 30.0, 20.0, 10.0]}]}}


FLOOR = {"constant": {"median": [50.0, 25.0, 7.0, 2.0]}}


FIGURES = {
    "figure 1": lambda: plots.plot_framework(),
    "figure 2": lambda: plots.plot_figure2({"types": {a: [entry(k), entry(k + 1), entry(k + 2)]
                                                      for k, a in enumerate(("sigmoid", "leaky_relu", "linear"))}}),
    "learning curves": lambda: plots.plot_learning_curves({"a": history(1.0), "b": history(2.0)}),
    "learning curves, floors": lambda: plots.plot_learning_curves(
        {"sigmoid-min": history(1.0), "linear-min": history(2.0)},
        {"sigmoid-min": FLOOR, "linear-min": FLOOR}),
    "embedding": lambda: plots.plot_embedding_quality({"types": {a: {w: {"f_dist": [0.01, 0.1, 1.0], "z_dist": [1.0, 2.0, 3.0],
                                                                        "spearman": 0.5} for w in ("trained", "untrained")}
                                                                 for a in ("sigmoid", "leaky_relu", "linear")}}),
    "figure 4": lambda: plots.plot_tradeoff([{"activation": "sigmoid", "mpe": 10.0, "nonzeros": 12, "collapsed": False},
                                             {"activation": "linear", "mpe": 50.0, "nonzeros": 40, "collapsed": True}],
                                            paper=[{"mpe": 5.0, "nonzeros": 14}]),
    "surfaces": lambda: plots.plot_surfaces(torch.rand(100, 3) * 2 - 1, [[(torch.rand(100), "a"), (torch.rand(100), "b"),
                                                                          (torch.rand(100), "c")]] * 3),
    "matrix": lambda: plots.plot_matrix(torch.ones(7, 33)).figure,
    "generator": lambda: plots.plot_generator_statistics({"depth": np.array([1, 2, 2, 4]), "widths": np.array([3, 5, 7]),
                                                          "sparsity": np.array([0.2, 0.2, 0.5, 0.5]),
                                                          "nonzeros": np.array([10, 12, 20, 30])}),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_legible_at_the_column_width(name):
    fig = FIGURES[name]()
    try:
        assert plots.rendered_px(fig) >= plots.MIN_PX - 1e-9
    finally:
        plots.plt.close("all")


def test_legible_shrinks_a_wide_figure_with_small_text_and_leaves_a_narrow_one():
    fig, ax = plots.plt.subplots(figsize=(12, 4))
    ax.set_title("small", fontsize=7)
    assert plots.rendered_px(fig) < plots.MIN_PX
    plots.legible(fig)
    assert plots.rendered_px(fig) == pytest.approx(plots.MIN_PX) and fig.get_figwidth() < 12
    narrow, ax = plots.plt.subplots(figsize=(5, 3))
    ax.set_title("fine", fontsize=9)
    plots.legible(narrow)
    assert tuple(narrow.get_size_inches()) == (5, 3)
    plots.plt.close("all")


def test_a_narrow_log_axis_is_labelled_in_plain_evenly_spaced_numbers():
    """Page 03's validation curves span 40-48 %: no 4.8x10^1 labels, more than one label."""
    fig, ax = plots.plt.subplots()
    ax.plot([1, 2, 3], [40.5, 44.0, 47.5])
    ax.set_yscale("log")
    plots.plain_log_y(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    inside = [float(t) for t in labels if 40.5 <= float(t) <= 47.5]
    assert len(inside) >= 2 and all("10" not in t and "times" not in t for t in labels), labels
    ax.set_ylim(1, 100)
    plots.plain_log_y(ax)
    fig.canvas.draw()
    assert {"1", "2", "5", "10", "20", "50", "100"} <= {t.get_text() for t in ax.get_yticklabels()}
    plots.plt.close("all")


def test_the_learning_curves_draw_one_floor_per_mlp_type():
    fig = plots.plot_learning_curves({"sigmoid-min": history(1.0), "sigmoid-p1": history(1.5), "linear-min": history(2.0)},
                                     {n: FLOOR for n in ("sigmoid-min", "sigmoid-p1", "linear-min")})
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert [x for x in labels if x.startswith("constant")] == ["constant, sigmoid MLPs", "constant, linear MLPs"]
    plots.plt.close("all")


def test_an_explorer_frame_is_as_legible_as_a_figure():
    """Page 05's explorer frames were saved at 60 dpi (text about 5 px): the frame's resolution is
    now the one that keeps its smallest text at MIN_PX where the page shows it."""
    from swao.render.widgets import frame_dpi

    frame = {"matrix": torch.zeros(7, 17), "step": 10, "nonzeros": 0, "y": np.linspace(0, 1, 50),
             "pred": np.linspace(0, 1, 50), "mpe": 1.0}
    frame["matrix"][2:5, 0] = 1.0
    frame["matrix"][:, -2:] = 1.0
    for fig in (plots.plot_search_frame(frame, "D2"), FIGURES["figure 2"]()):
        dpi = frame_dpi(fig)
        width = fig.get_figwidth() * dpi
        smallest = min(t.get_fontsize() for t in fig.findobj(plots.Text) if t.get_visible() and t.get_text().strip())
        assert smallest * dpi / 72 * min(1.0, plots.COLUMN_PX / width) >= plots.MIN_PX - 1e-6
    plots.plt.close("all")
