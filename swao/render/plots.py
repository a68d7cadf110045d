"""Figures of the book, drawn from tensors and results (never from a live computation).

Every function takes plain data and an optional matplotlib ``Axes`` and returns the figure or
axes, so notebooks stay thin and figures can be drawn from cached results.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.text import Text

from swao.method.representation import H, INPUT_ROWS, depth_of

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9.5, "legend.fontsize": 9,
                     "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.titlesize": 10, "legend.title_fontsize": 9})

COLUMN_PX = 690  # the book's text column at a 1280-px window: a wider figure is scaled down to it
MIN_PX = 9  # the smallest text a reader should get, in pixels, once the figure is scaled to the column


def rendered_px(fig) -> float:
    """The height in pixels of the figure's smallest text once the page scales it to the column."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    width = fig.get_figwidth() * fig.dpi
    return min(sizes, default=MIN_PX * 72 / fig.dpi) * fig.dpi / 72 * min(1.0, COLUMN_PX / width)


def legible(fig):
    """Shrink a figure wider than the column (its aspect kept, its text sizes not) until its
    smallest text renders at :data:`MIN_PX` or more; then lay it out again."""
    px = rendered_px(fig)
    if px < MIN_PX:
        w, h = fig.get_size_inches()
        fig.set_size_inches(w * px / MIN_PX, h * px / MIN_PX)
        if fig.get_layout_engine() is None and not fig.legends:  # constrained layouts redo themselves
            fig.tight_layout()
    return fig


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def plot_matrix(matrix: torch.Tensor, ax=None, title: str | None = None):
    """Heat map of an MLP matrix (eq. 1): blocks ``B_l``, the output column and the masks."""
    L = depth_of(matrix)
    m = _np(matrix)
    ax = ax or plt.subplots(figsize=(0.32 * m.shape[1] + 1.5, 3.0))[1]
    weights = m.copy()
    weights[:, H * L + 1 :] = np.nan
    lim = max(np.nanmax(np.abs(weights)), 1e-9)
    im = ax.imshow(weights, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="equal")
    masks = np.full_like(m, np.nan)
    masks[:, H * L + 1 :] = m[:, H * L + 1 :]
    ax.imshow(masks, cmap="Greys", vmin=0, vmax=1.6, aspect="equal")
    for c in range(1, L + 1):
        ax.axvline(H * c - 0.5, color="k", lw=1)
    ax.axvline(H * L + 0.5, color="k", lw=1)
    labels = [f"$B_{l + 1}$" for l in range(L)] + ["$b_{out}$", "masks"]
    centers = [H * l + (H - 1) / 2 for l in range(L)] + [H * L, H * L + 1 + (L - 1) / 2]
    ax.set_xticks(centers, labels)
    ax.set_yticks(range(H), [f"in {INPUT_ROWS.index(r) + 1}" if r in INPUT_ROWS else str(r) for r in range(H)])
    ax.set_title(title or f"{L}-hidden-layer MLP as a {H}x{m.shape[1]} matrix")
    plt.colorbar(im, ax=ax, fraction=0.025, pad=0.02, label="weight")
    return ax


def plot_surface(x: torch.Tensor, y: torch.Tensor, ax=None, title: str = "", vmin=None, vmax=None):
    """3-d view of an MLP's output over its 3-d inputs: a scatter coloured by the output."""
    if ax is None:
        ax = plt.figure(figsize=(4, 3.4)).add_subplot(projection="3d")
    xs, ys = _np(x), _np(y)
    sc = ax.scatter(xs[:, 0], xs[:, 1], xs[:, 2], c=ys, cmap="viridis", s=6, vmin=vmin, vmax=vmax, depthshade=False)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$x_3$")
    ax.set_title(title)
    plt.colorbar(sc, ax=ax, fraction=0.04, pad=0.12, label="output")
    return ax


def plot_generator_statistics(stats: dict, title: str = ""):
    """Depths, widths, and non-zero weights per sparsity of a generated set of MLPs."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    depths, counts = np.unique(stats["depth"], return_counts=True)
    axes[0].bar(depths, counts, color="tab:blue")
    axes[0].set(xlabel="hidden layers L", ylabel="MLPs", title="depth", xticks=[1, 2, 3, 4])
    widths, counts = np.unique(stats["widths"], return_counts=True)
    axes[1].bar(widths, counts, color="tab:orange")
    axes[1].set(xlabel="active neurons per hidden layer", ylabel="layers", title="width")
    for s in sorted(set(stats["sparsity"].tolist())):
        sel = stats["sparsity"] == s
        axes[2].hist(stats["nonzeros"][sel], bins=np.arange(0, stats["nonzeros"].max() + 2) - 0.5, alpha=0.6, label=f"{int(round(s * 100))} % removed")
    axes[2].set(xlabel="non-zero weights", ylabel="MLPs", title="non-zeros per sparsity")
    axes[2].legend(fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return legible(fig)


def plot_framework():
    """Figure 1: the multi-scale encoder-decoder (encoders, multiplexer, FC, embedding, FC,
    split, decoders), drawn from the architecture's description in Section 3.1."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(11, 4.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(-0.2, 4.6)
    ax.axis("off")

    def box(x, y, w, h, text, color, fs=12, rotation=0):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="k", lw=0.8))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fs, rotation=rotation)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, lw=0.8, color="k"))

    ys = [3.6, 2.6, 1.6, 0.6]
    box(0.05, 1.8, 1.15, 1.0, "input MLP\n7 x (8L+1)", "#f2f2f2")
    for i, y in enumerate(ys):
        L = i + 1
        box(1.6, y - 0.35, 1.35, 0.7, f"$E_{L}$: 7 conv\n7 x {8 * L + 1}", "#cfe2f3")
        arrow(1.2, 2.3, 1.6, y)
        box(6.95, y - 0.35, 1.35, 0.7, f"$D_{L}$: deconv\n7 x {8 * L + 1}", "#d9ead3")
        box(8.75, y - 0.35, 2.2, 0.7, f"MLP, {L} hidden\nlayer{'s' if L > 1 else ''} (masks)", "#f2f2f2")
        arrow(8.3, y, 8.75, y)
    ax.text(2.27, 4.15, "multiplexer: only $E_L$ is active", ha="center", fontsize=12)
    box(3.3, 1.1, 0.6, 2.4, "concat", "#fff2cc", rotation=90)
    for y in ys:
        arrow(2.95, y, 3.3, min(max(y, 1.2), 3.4))
    box(4.1, 1.6, 0.6, 1.4, "4\nFC", "#fce5cd")
    arrow(3.9, 2.3, 4.1, 2.3)
    box(4.9, 1.8, 0.75, 1.0, "z\n128-d", "#ead1dc")
    arrow(4.7, 2.3, 4.9, 2.3)
    box(5.85, 1.6, 0.75, 1.4, "4 FC\nsplit", "#fce5cd")
    arrow(5.65, 2.3, 5.85, 2.3)
    for y in ys:
        arrow(6.6, 2.3, 6.95, y)
    ax.text(5.2, -0.12, "the search (Sec. 3.2): gradient descent on z, with a sparsity penalty and a learnable threshold",
            ha="center", fontsize=12, style="italic")
    ax.set_title("Figure 1: the multi-scale encoder-decoder", fontsize=13)
    return legible(fig)


ACT_COLORS = {"sigmoid": "tab:blue", "leaky_relu": "tab:orange", "linear": "tab:green"}
DEC_COLORS = ["tab:red", "tab:purple", "tab:green", "tab:orange"]


def plot_learning_curves(results: dict[str, dict]):
    """Training loss and validation MPE against steps. The validation view is each MLP's best
    decoder, the median over the validation MLPs, averaged over the 4 encoders (a mean over MLPs
    would be dominated by the few whose outputs come near zero); log axes."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, res in results.items():
        h = res["history"]
        ax0.plot(h["step"], h["loss"], lw=0.8, label=name)
        val = [v for v in h["val"] if "best_decoder_median" in v]
        ax1.plot([v["step"] for v in val], [sum(v["best_decoder_median"]) / len(v["best_decoder_median"]) for v in val],
                 marker="o", ms=3, lw=1, label=name)
    ax0.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss (per batch)")
    ax1.set(xlabel="step", ylabel="validation MPE (%)", yscale="log",
            title="validation: best decoder per MLP, median, mean over encoders")
    ax1.legend(fontsize=9)
    fig.tight_layout()
    return legible(fig)


def plot_decodings(entry: dict, activation: str, ax=None, title: str = "", legend: bool = True):
    """One panel of Figure 2: the input MLP's outputs over the 1,000 grid points (sorted) and
    the outputs of its 4 decodings, with each decoding's MPE (in the legend, or in the title
    when ``legend`` is off)."""
    ax = ax or plt.subplots(figsize=(4, 3))[1]
    y = np.asarray(entry["y"])
    order = np.argsort(y)
    ax.plot(y[order], color="k", lw=2, label="input MLP", zorder=5)
    for j, pred in enumerate(entry["decoded"]):
        ax.plot(np.asarray(pred)[order], color=DEC_COLORS[j], lw=0.8, alpha=0.85,
                label=f"D{j + 1}: MPE {entry['mpe'][j]:.1f} %" if legend else f"D{j + 1}")
    mpes = " / ".join(f"{m:.0f}" for m in entry["mpe"])
    ax.set(xlabel="grid point (sorted by the input's output)", ylabel="output",
           title=(title or activation) + ("" if legend else f" (L={entry['depth']})\nMPE D1-D4: {mpes} %"))
    if legend:
        ax.legend(loc="upper left")
    return ax


def plot_figure2(fig2: dict, title: str = "Figure 2: input MLPs and their four decodings"):
    """Figure 2: input MLPs against their 4 decodings, 3 MLPs per activation type; each panel's
    title gives the decodings' MPEs, one legend for all; ``title`` names what made it."""
    types = list(fig2["types"])
    n = max(len(v) for v in fig2["types"].values())
    fig, axes = plt.subplots(len(types), n, figsize=(9.5, 3.0 * len(types) + 0.5), squeeze=False)
    for r, act in enumerate(types):
        for c, entry in enumerate(fig2["types"][act]):
            ax = axes[r][c]
            plot_decodings(entry, act, ax, title=f"{act}-based MLP {c + 1}", legend=False)
            ax.set(xlabel="grid point (sorted)" if r == len(types) - 1 else "", ylabel="output" if c == 0 else "")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    return legible(fig)


def plot_search_views(x, y, preds: dict[str, np.ndarray], title: str, slab: float = 0.15, max_points: int = 1500):
    """Figures 3, 5, 6 (and Figure 2's explorer), in views that compare at a glance: the target
    and each prediction on the slab ``|x3| < slab`` of the input cube, as ``(x1, x2)`` maps on the
    target's colour scale (predictions clipped to it), then every prediction against the target
    over the first ``max_points`` points, with the diagonal."""
    x, y = _np(x), _np(y)
    sel = np.abs(x[:, 2]) < slab
    lo, hi = float(np.min(y[sel])), float(np.max(y[sel]))
    panels = [("target", y)] + [(label, _np(p)) for label, p in preds.items()]
    cols = 2  # two panels per row: each ~340 px wide in the book's 690-px column
    rows = -(-(len(panels) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5, 3.3 * rows), squeeze=False, layout="constrained")
    for k, (ax, (label, v)) in enumerate(zip(axes.flat, panels)):
        im = ax.scatter(x[sel, 0], x[sel, 1], c=np.clip(v[sel], lo, hi), cmap="viridis", vmin=lo, vmax=hi, s=14, marker="s")
        ax.set(title=label, xlabel="x1", ylabel="x2" if k % cols == 0 else "", xlim=(-1, 1), ylim=(-1, 1), aspect="equal")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label=f"output on |x3| < {slab:g} (one scale: the target's)")
    ax = axes.flat[len(panels)]
    idx = np.arange(min(len(y), max_points))
    for j, (label, p) in enumerate(preds.items()):
        ax.scatter(y[idx], _np(p)[idx], s=4, alpha=0.45, color=DEC_COLORS[j % len(DEC_COLORS)], label=label.split(":")[0].split(" (")[0])
    span = [float(np.min(y[idx])), float(np.max(y[idx]))]
    ax.plot(span, span, color="k", ls="--", lw=0.8)
    ax.set(xlabel="target", ylabel="prediction", title="prediction against target\n(all points)", box_aspect=1)
    ax.legend(fontsize=9, markerscale=3)
    for extra in axes.flat[len(panels) + 1:]:
        extra.set_visible(False)
    fig.suptitle(title)
    return legible(fig)


def plot_tradeoff(points: list[dict], paper: list[dict] | None = None, l0: list[dict] | None = None):
    """Figure 4: non-zero count against test MPE over the searched MLPs (every restart), beside
    the paper's Table 2 cells and the L0-gates baseline's MLPs (``l0``: every strength, hollow).
    A searched MLP that computes a near-constant function (``collapsed``) is drawn as a grey dot:
    its non-zero count describes no working network."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for act in ACT_COLORS:
        pts = [p for p in points if p["activation"] == act and p["mpe"] is not None and not p.get("collapsed")]
        if pts:
            ax.scatter([p["nonzeros"] for p in pts], [max(p["mpe"], 1e-3) for p in pts], s=14, alpha=0.7,
                       color=ACT_COLORS[act], label=f"{act}-based (ours)")
    flat = [p for p in points if p["mpe"] is not None and p.get("collapsed")]
    if flat:
        ax.scatter([p["nonzeros"] for p in flat], [max(p["mpe"], 1e-3) for p in flat], s=10, alpha=0.6, color="0.6",
                   label=f"ours, collapsed to a near-constant ({len(flat)} of {len(points)})")
    for act in ACT_COLORS:
        pts = [p for p in l0 or [] if p["activation"] == act and p["mpe"] is not None]
        if pts:
            ax.scatter([p["nonzeros"] for p in pts], [max(p["mpe"], 1e-3) for p in pts], s=16, marker="^", alpha=0.6,
                       facecolors="none", edgecolors=ACT_COLORS[act], label=f"{act}-based, L0 gates (baseline)")
    if paper:
        ax.scatter([p["nonzeros"] for p in paper], [max(p["mpe"], 1e-3) for p in paper], s=30, marker="x",
                   color="k", alpha=0.6, label="paper, Table 2")
    ax.set(xlabel="non-zero weights of the searched MLP", ylabel="test MPE (%)", yscale="log",
           title="Figure 4: compactness against error")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return legible(fig)


METHOD_COLORS = {"search": "C3", "direct": "C0", "pruned": "C2", "l0": "C4"}


def plot_your_data(views: list[dict]):
    """The your-data figure, from :func:`swao.book.experiments.your_data_views`: per dataset, each
    method's found MLP against the target on the test points, in the user's units, with the
    diagonal; the legend gives each one's depth, non-zeros and test MPE."""
    from swao.render.tables import METHODS, fmt

    cols = 2
    rows = (len(views) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(9, 4.2 * rows), squeeze=False, layout="constrained")
    for ax, v in zip(axes.flat, views):
        y = v["y"]
        for m, f in v["found"].items():
            ax.scatter(y, f["pred"], s=4, alpha=0.35, color=METHOD_COLORS.get(m, "k"),
                       label=f"{METHODS[m]}: {f['decoder']}, {f['nonzeros']} nz, {fmt(f['mpe'])} %")
        lo, hi = float(y.min()), float(y.max())
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set(xlabel="target (its units)", ylabel="found MLP's prediction", title=f"{v['dataset']} ({v['activation']}-based)")
        ax.legend(fontsize=9, markerscale=3, loc="upper left")
    for extra in axes.flat[len(views):]:
        extra.set_visible(False)
    return legible(fig)


def plot_embedding_quality(study: dict):
    """Embedding distance against functional distance, trained and untrained encoders."""
    types = list(study["types"])
    from matplotlib.ticker import LogLocator

    fig, axes = plt.subplots(1, len(types), figsize=(3.2 * len(types), 3.4), squeeze=False)
    for k, (ax, act) in enumerate(zip(axes[0], types)):
        for which, color in (("untrained", "0.6"), ("trained", ACT_COLORS[act])):
            q = study["types"][act][which]
            ax.scatter(q["f_dist"], q["z_dist"], s=5, alpha=0.5, color=color, label=f"{which}: rho {q['spearman']:.2f}")
        ax.set(xlabel="functional distance (RMS)", ylabel="embedding distance" if k == 0 else "", xscale="log",
               title=f"{act}-based")
        ax.xaxis.set_major_locator(LogLocator(numticks=4))
        ax.legend(fontsize=9)
    fig.tight_layout()
    return legible(fig)


def plot_searched(views: list[dict], title: str) -> list:
    """Figures 3, 5, 6 for one dataset, from :func:`swao.book.experiments.searched_views`: per MLP
    type, the test points coloured by the target, then the predictions of the MLP found through
    each decoder, titled with its test MPE and non-zero count."""
    from swao.render.tables import fmt

    return [plot_search_views(v["x"], v["y"], {f"{dec}: {fmt(f['mpe'])} % ({f['nonzeros']})": f["pred"] for dec, f in v["found"].items()},
                              title=f"{title}: {v['activation']}-based, {v['dataset'][0]} hidden layers") for v in views]


def plot_search_frame(frame: dict, label: str):
    """One snapshot of a search (:func:`swao.book.experiments.search_frames`): the exported MLP's
    matrix (its architecture) and its predictions against the target on the test points."""
    fig = plt.figure(figsize=(11, 3.2))
    plot_matrix(frame["matrix"], ax=fig.add_subplot(1, 2, 1),
                title=f"{label}, step {frame['step']}: {frame['nonzeros']} non-zeros")
    ax = fig.add_subplot(1, 2, 2)
    y, pred = _np(frame["y"]), _np(frame["pred"])
    ax.scatter(y, pred, s=4, alpha=0.5)
    span = [float(y.min()), float(y.max())]
    ax.plot(span, span, color="k", ls="--", lw=0.8)
    ax.set(xlabel="target", ylabel="prediction", box_aspect=1,
           title=f"MPE {frame['mpe']:.1f} % on {len(y):,} test points (dashed: exact)")
    fig.tight_layout()
    return legible(fig)
