"""The book's figures are legible as rendered: scaled to the page's column, the smallest text of
each is at least MIN_PX pixels high (issue 27: Figure 1's text was ~7 px, Figure 2's legends ~4)."""
import numpy as np
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


FIGURES = {
    "figure 1": lambda: plots.plot_framework(),
    "figure 2": lambda: plots.plot_figure2({"types": {a: [entry(k), entry(k + 1), entry(k + 2)]
                                                      for k, a in enumerate(("sigmoid", "leaky_relu", "linear"))}}),
    "learning curves": lambda: plots.plot_learning_curves({"a": history(1.0), "b": history(2.0)}),
    "embedding": lambda: plots.plot_embedding_quality({"types": {a: {w: {"f_dist": [0.01, 0.1, 1.0], "z_dist": [1.0, 2.0, 3.0],
                                                                        "spearman": 0.5} for w in ("trained", "untrained")}
                                                                 for a in ("sigmoid", "leaky_relu", "linear")}}),
    "figure 4": lambda: plots.plot_tradeoff([{"activation": "sigmoid", "mpe": 10.0, "nonzeros": 12, "collapsed": False},
                                             {"activation": "linear", "mpe": 50.0, "nonzeros": 40, "collapsed": True}],
                                            paper=[{"mpe": 5.0, "nonzeros": 14}]),
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
