"""Figures of the book, drawn from tensors and results (never from a live computation).

Every function takes plain data and an optional matplotlib ``Axes`` and returns the figure or
axes, so notebooks stay thin and figures can be drawn from cached results.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.text import Text
from matplotlib.ticker import FormatStrFormatter

from swao.book.stages import mlp_type
from swao.method.representation import H, INPUT_ROWS, depth_of

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9.5, "legend.fontsize": 9,
                     "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.titlesize": 10, "legend.title_fontsize": 9})

COLUMN_PX = 690  # the book's text column at a 1280-px window: a wider figure is scaled down to it
MIN_PX = 9  # the smallest text a reader should get, in pixels, once the figure is scaled to the column


def smallest_text(fig) -> float | None:
    """The font size (points) of the figure's smallest visible text, or ``None`` if it has none."""
    return min((t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()), default=None)


def rendered_px(fig) -> float:
    """The height in pixels of the figure's smallest text once the page scales it to the column."""
    width = fig.get_figwidth() * fig.dpi
    return (smallest_text(fig) or MIN_PX * 72 / fig.dpi) * fig.dpi / 72 * min(1.0, COLUMN_PX / width)


def legend_below(fig, handles: list, labels: list, ncol: int) -> None:
    """The legend under the axes, off the data, in ``ncol`` columns; the axes laid out above it."""
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, (0.1 + 0.2 * -(-len(labels) // ncol)) / fig.get_figheight(), 1, 1))



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


FINE_SUBS = (1, 1.5, 2, 3, 5, 7)  # a log axis's labels over less than a decade (20, 30, 50, 70, 100)


def plain_log_y(ax, axis: str = "y", most: int = 9) -> None:
    """A log axis (``axis``: ``"y"`` or ``"x"``) labelled in plain numbers: 0.01, 0.1, 1, 10 over
    several decades, 1, 2, 5, 10, 20 over a few (at most ``most`` labels), 42, 44, 46 over a narrow
    range; never matplotlib's 4.4 x 10^1 minor labels. Call it once the data are drawn."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    labels = sum(lo <= m * 10.0 ** k <= hi for k in decades for m in (1, 2, 5))
    if labels > most:  # a wide range: the powers of ten only
        target.set_major_locator(LogLocator(subs=(1,), numticks=most + 1))
    elif labels >= 3:
        target.set_major_locator(LogLocator(subs=(1, 2, 5)))
    elif sum(lo <= m * 10.0 ** k <= hi for k in decades for m in FINE_SUBS) >= 3:
        target.set_major_locator(LogLocator(subs=FINE_SUBS))
    else:  # a narrow range: evenly spaced plain values
        target.set_major_locator(MaxNLocator(5 if axis == "y" else 3, steps=[1, 2, 5, 10]))
        target.set_minor_locator(NullLocator())
    target.set_major_formatter(FormatStrFormatter("%g"))
    target.set_minor_formatter(FormatStrFormatter(""))


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def plot_matrix(matrix: torch.Tensor, ax=None, title: str | None = None):
    """Heat map of an MLP matrix (eq. 1): blocks ``B_l``, the output column and the masks. Row
    ``k`` of a block is neuron ``k`` of the layer it reads from (for ``B_1``, the inputs on rows
    :data:`swao.method.representation.INPUT_ROWS`); row ``k`` of mask column ``l`` is neuron ``k``
    of hidden layer ``l``. The weights' colour bar on the right, the masks' key below."""
    from matplotlib.patches import Patch

    L = depth_of(matrix)
    m = _np(matrix)
    own = ax is None
    ax = ax or plt.subplots(figsize=(0.32 * m.shape[1] + 1.5, 3.4))[1]
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
    first, last = INPUT_ROWS[0], INPUT_ROWS[-1]
    labels = [f"$B_1$\n(inputs: rows {first}-{last})"] + [f"$B_{l + 1}$" for l in range(1, L)] + ["$b_{out}$"]
    ax.set_xticks([H * l + (H - 1) / 2 for l in range(L)] + [H * L], labels)
    top = ax.secondary_xaxis("top")
    top.set_xticks([H * L + 1 + l for l in range(L)], [str(l + 1) for l in range(L)])
    top.tick_params(length=0, pad=1)
    ax.annotate("masks", xy=(H * L + 1 + (L - 1) / 2, -0.5), xytext=(0, 13), textcoords="offset points",
                ha="center", va="bottom", fontsize=9, annotation_clip=False)
    ax.set_yticks(range(H), [str(r) for r in range(H)])
    ax.set_ylabel("row k: neuron k of\nthe layer read")
    ax.set_title(title or f"{L}-hidden-layer MLP as a {H}x{m.shape[1]} matrix", pad=26)
    ax.legend(handles=[Patch(facecolor=plt.get_cmap("Greys")(1 / 1.6), edgecolor="0.3", label="mask 1: active neuron"),
                       Patch(facecolor="white", edgecolor="0.3", label="mask 0: inactive")],
              loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=9,
              bbox_transform=ax.transAxes, borderaxespad=2.2)
    plt.colorbar(im, ax=ax, fraction=0.025, pad=0.02, label="weight")
    if own:
        legible(ax.figure)
    return ax


def plot_surface(x: torch.Tensor, y: torch.Tensor, ax=None, title: str = "", vmin=None, vmax=None):
    """3-d view of an MLP's output over its 3-d inputs: a scatter coloured by the output, three
    ticks per input axis (every axis labelled), and the output's colour bar."""
    if ax is None:
        ax = plt.figure(figsize=(4.4, 3.6)).add_subplot(projection="3d")
    xs, ys = _np(x), _np(y)
    sc = ax.scatter(xs[:, 0], xs[:, 1], xs[:, 2], c=ys, cmap="viridis", s=6, vmin=vmin, vmax=vmax, depthshade=False)
    lo, hi = float(xs.min()), float(xs.max())
    ticks = [lo, (lo + hi) / 2, hi]
    ax.set(xticks=ticks, yticks=ticks, zticks=ticks, xlabel="$x_1$", ylabel="$x_2$", zlabel="$x_3$")
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.labelpad = 0
    ax.tick_params(pad=0)
    ax.set_box_aspect(None, zoom=0.82)  # room for the z label inside the panel
    ax.set_title(title)
    plt.colorbar(sc, ax=ax, fraction=0.04, pad=0.1, label="output")
    return ax


def plot_surfaces(x: torch.Tensor, panels: list[list[tuple[torch.Tensor, str]]]):
    """A grid of :func:`plot_surface` panels, one row per list of ``(y, title)``: legible at the
    column's width."""
    rows, cols = len(panels), max(len(r) for r in panels)
    fig = plt.figure(figsize=(3.3 * cols, 2.9 * rows))
    for r, row in enumerate(panels):
        for c, (y, title) in enumerate(row):
            plot_surface(x, y, ax=fig.add_subplot(rows, cols, r * cols + c + 1, projection="3d"), title=title)
    fig.subplots_adjust(left=0.0, right=0.93, bottom=0.02, top=0.95, wspace=0.3, hspace=0.3)
    return legible(fig)


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


def plot_learning_curves(results: dict[str, dict], floors: dict | None = None):
    """Training loss and validation MPE against steps. The validation view is each MLP's best
    decoder, the median over the validation MLPs, averaged over the 4 encoders (a mean over MLPs
    would be dominated by the few whose outputs come near zero); log axes. With ``floors``
    (:func:`swao.book.autoencoders.validation_floors`), the constant's on the same MLPs, the same
    average, one dashed line per MLP type: a curve above it has learned less than each MLP's level."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.4))
    drawn = {}
    for k, (name, res) in enumerate(results.items()):
        h = res["history"]
        ax0.plot(h["step"], h["loss"], lw=0.8, label=name, color=f"C{k}")
        val = [v for v in h["val"] if "best_decoder_median" in v]
        ax1.plot([v["step"] for v in val], [sum(v["best_decoder_median"]) / len(v["best_decoder_median"]) for v in val],
                 marker="o", ms=3, lw=1, label=name, color=f"C{k}")
        act = mlp_type(name) if floors else None
        if floors and act not in drawn:
            const = floors[name]["constant"]["median"]
            drawn[act] = ax1.axhline(sum(const) / len(const), color=f"C{k}", ls="--", lw=0.9,
                                     label=f"constant, {act} MLPs")
    ax0.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss (per batch)")
    ax1.set(xlabel="step", ylabel="validation MPE (%)", yscale="log",
            title="validation: each MLP's best decoder\n(median over MLPs, mean over encoders"
            + ("; dashed: the constant floor)" if drawn else ")"))
    for ax in (ax0, ax1):
        plain_log_y(ax)
    handles, labels = ax1.get_legend_handles_labels()
    legend_below(fig, handles, labels, min(4, len(labels)))
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


LOG_FLOOR = 1e-3  # an MPE below this (the paper's "0.00") is drawn at it on a log axis, and the legend says so


def plot_tradeoff(points: list[dict], paper: list[dict] | None = None, l0: list[dict] | None = None):
    """Figure 4: non-zero count against test MPE over the searched MLPs (every restart), beside
    the paper's Table 2 cells and the L0-gates baseline's MLPs (``l0``: every strength, hollow).
    A searched MLP that computes a near-constant function (``collapsed``) is drawn as a grey dot:
    its non-zero count describes no working network. An MPE under :data:`LOG_FLOOR` is drawn at
    it (the legend counts them); the legend sits below the axes, off the data."""
    fig, ax = plt.subplots(figsize=(6.5, 5.2))

    def scatter(pts, label, **style):
        low = sum(p["mpe"] < LOG_FLOOR for p in pts)
        ax.scatter([p["nonzeros"] for p in pts], [max(p["mpe"], LOG_FLOOR) for p in pts],
                   label=label + (f" ({low} at 0.00, drawn at {LOG_FLOOR:g})" if low else ""), **style)

    for act in ACT_COLORS:
        pts = [p for p in points if p["activation"] == act and p["mpe"] is not None and not p.get("collapsed")]
        if pts:
            scatter(pts, f"{act}-based (ours)", s=14, alpha=0.7, color=ACT_COLORS[act])
    flat = [p for p in points if p["mpe"] is not None and p.get("collapsed")]
    if flat:
        scatter(flat, f"ours, collapsed to a near-constant ({len(flat)} of {len(points)})", s=10, alpha=0.6, color="0.6")
    for act in ACT_COLORS:
        pts = [p for p in l0 or [] if p["activation"] == act and p["mpe"] is not None]
        if pts:
            scatter(pts, f"{act}-based, L0 gates (baseline)", s=16, marker="^", alpha=0.6, facecolors="none",
                    edgecolors=ACT_COLORS[act])
    if paper:
        scatter(paper, "paper, Table 2", s=30, marker="x", color="k", alpha=0.6)
    ax.set(xlabel="non-zero weights of the searched MLP", ylabel="test MPE (%)", yscale="log",
           title="Figure 4: compactness against error")
    plain_log_y(ax)
    handles, labels = ax.get_legend_handles_labels()
    legend_below(fig, handles, labels, 2 if len(labels) > 3 else 1)
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
    fig, axes = plt.subplots(1, len(types), figsize=(3.2 * len(types), 3.4), squeeze=False)
    for k, (ax, act) in enumerate(zip(axes[0], types)):
        for which, color in (("untrained", "0.6"), ("trained", ACT_COLORS[act])):
            q = study["types"][act][which]
            ax.scatter(q["f_dist"], q["z_dist"], s=5, alpha=0.5, color=color, label=f"{which}: rho {q['spearman']:.2f}")
        ax.set(xlabel="functional distance (RMS)", ylabel="embedding distance" if k == 0 else "", xscale="log",
               title=f"{act}-based")
        plain_log_y(ax, "x", most=3)
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
    fig = plt.figure(figsize=(11, 3.8), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(2.6, 1))
    plot_matrix(frame["matrix"], ax=fig.add_subplot(grid[0]),
                title=f"{label}, step {frame['step']}: {frame['nonzeros']} non-zeros")
    ax = fig.add_subplot(grid[1])
    y, pred = _np(frame["y"]), _np(frame["pred"])
    ax.scatter(y, pred, s=4, alpha=0.5)
    span = [float(y.min()), float(y.max())]
    ax.plot(span, span, color="k", ls="--", lw=0.8)
    ax.set(xlabel="target", ylabel="prediction", title=f"MPE {frame['mpe']:.1f} % on {len(y):,} test points\n(dashed: exact)")
    return legible(fig)
