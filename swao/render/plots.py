"""Figures of the book, drawn from tensors and results (never from a live computation).

Every function takes plain data and an optional matplotlib ``Axes`` and returns the figure or
axes, so notebooks stay thin and figures can be drawn from cached results.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from swao.method.representation import H, INPUT_ROWS, depth_of

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9})


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
    axes[2].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_framework():
    """Figure 1: the multi-scale encoder-decoder (encoders, multiplexer, FC, embedding, FC,
    split, decoders), drawn from the architecture's description in Section 3.1."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(11, 4.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(-0.2, 4.6)
    ax.axis("off")

    def box(x, y, w, h, text, color, fs=8):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="k", lw=0.8))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fs)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=9, lw=0.8, color="k"))

    ys = [3.6, 2.6, 1.6, 0.6]
    box(0.05, 1.7, 1.1, 1.2, "input MLP\nL hidden layers\n7 x (8L+1)", "#f2f2f2")
    for i, y in enumerate(ys):
        L = i + 1
        box(1.6, y - 0.3, 1.35, 0.6, f"$E_{L}$: 7 conv\n(7 x {8 * L + 1})", "#cfe2f3")
        arrow(1.15, 2.3, 1.6, y)
        box(6.95, y - 0.3, 1.35, 0.6, f"$D_{L}$: deconv\n-> 7 x {8 * L + 1}", "#d9ead3")
        box(8.75, y - 0.3, 1.9, 0.6, f"MLP with {L} hidden layer{'s' if L > 1 else ''}\n(masks: sigmoid > 0.5)", "#f2f2f2", 7)
        arrow(8.3, y, 8.75, y)
    ax.text(2.27, 4.25, "multiplexer: only $E_L$ is active,\nthe others output zeros", ha="center", fontsize=7.5)
    box(3.35, 1.1, 0.5, 2.4, "concat", "#fff2cc", 7)
    for y in ys:
        arrow(2.95, y, 3.35, min(max(y, 1.2), 3.4))
    box(4.1, 1.6, 0.55, 1.4, "4 FC", "#fce5cd")
    arrow(3.85, 2.3, 4.1, 2.3)
    box(4.9, 1.85, 0.6, 0.9, "z\n128-d", "#ead1dc", 9)
    arrow(4.65, 2.3, 4.9, 2.3)
    box(5.75, 1.6, 0.55, 1.4, "4 FC\n+ split", "#fce5cd", 7)
    arrow(5.5, 2.3, 5.75, 2.3)
    for y in ys:
        arrow(6.3, 2.3, 6.95, y)
    ax.text(5.2, -0.12, "search (Sec. 3.2): gradient descent on z, with a sparsity penalty and a learnable threshold t",
            ha="center", fontsize=8, style="italic")
    ax.set_title("Figure 1: the multi-scale encoder-decoder", fontsize=10)
    return fig


ACT_COLORS = {"sigmoid": "tab:blue", "leaky_relu": "tab:orange", "linear": "tab:green"}
DEC_COLORS = ["tab:red", "tab:purple", "tab:green", "tab:orange"]


def plot_learning_curves(results: dict[str, dict]):
    """Training loss and validation MPE (best decoder, mean over encoders) against steps."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.4))
    for name, res in results.items():
        h = res["history"]
        ax0.plot(h["step"], h["loss"], lw=0.8, label=name)
        ax1.plot([v["step"] for v in h["val"]], [v["best_mean"] for v in h["val"]], marker="o", ms=3, lw=1, label=name)
    ax0.set(xlabel="step", ylabel="training loss", yscale="log", title="training loss (per batch)")
    ax1.set(xlabel="step", ylabel="validation MPE (%)", title="validation MPE, best decoder, mean over encoders")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_decodings(entry: dict, activation: str, ax=None, title: str = ""):
    """One panel of Figure 2: the input MLP's outputs over the 1,000 grid points (sorted) and
    the outputs of its 4 decodings, with each decoding's MPE."""
    ax = ax or plt.subplots(figsize=(4, 3))[1]
    y = np.asarray(entry["y"])
    order = np.argsort(y)
    ax.plot(y[order], color="k", lw=2, label=f"input (L={entry['depth']})")
    for j, pred in enumerate(entry["decoded"]):
        ax.plot(np.asarray(pred)[order], color=DEC_COLORS[j], lw=0.8, alpha=0.85, label=f"D{j + 1}: MPE {entry['mpe'][j]:.1f} %")
    ax.set(xlabel="grid point (sorted by the input's output)", ylabel="output", title=title or activation)
    ax.legend(fontsize=6.5, loc="upper left")
    return ax


def plot_figure2(fig2: dict):
    """Figure 2: input MLPs against their 4 decodings, 3 MLPs per activation type."""
    types = list(fig2["types"])
    n = max(len(v) for v in fig2["types"].values())
    fig, axes = plt.subplots(len(types), n, figsize=(4.2 * n, 3.2 * len(types)), squeeze=False)
    for r, act in enumerate(types):
        for c, entry in enumerate(fig2["types"][act]):
            plot_decodings(entry, act, axes[r][c], title=f"{act}-based MLP {c + 1}")
    fig.suptitle("Figure 2: input MLPs and their four decodings")
    fig.tight_layout()
    return fig


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
    ax.legend(fontsize=7, markerscale=3)
    for extra in axes.flat[len(panels) + 1:]:
        extra.set_visible(False)
    fig.suptitle(title)
    return fig


def plot_tradeoff(points: list[dict], paper: list[dict] | None = None, l0: list[dict] | None = None):
    """Figure 4: non-zero count against test MPE over the searched MLPs (every restart), beside
    the paper's Table 2 cells and the L0-gates baseline's MLPs (``l0``: every strength, hollow)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for act in ACT_COLORS:
        pts = [p for p in points if p["activation"] == act and p["mpe"] is not None]
        if pts:
            ax.scatter([p["nonzeros"] for p in pts], [max(p["mpe"], 1e-3) for p in pts], s=14, alpha=0.7,
                       color=ACT_COLORS[act], label=f"{act}-based (ours)")
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
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


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
        ax.legend(fontsize=6.5, markerscale=3, loc="upper left")
    for extra in axes.flat[len(views):]:
        extra.set_visible(False)
    return fig


def plot_embedding_quality(study: dict):
    """Embedding distance against functional distance, trained and untrained encoders."""
    types = list(study["types"])
    fig, axes = plt.subplots(1, len(types), figsize=(4 * len(types), 3.3), squeeze=False)
    for ax, act in zip(axes[0], types):
        for which, color in (("untrained", "0.6"), ("trained", ACT_COLORS[act])):
            q = study["types"][act][which]
            ax.scatter(q["f_dist"], q["z_dist"], s=5, alpha=0.5, color=color, label=f"{which}: Spearman {q['spearman']:.2f}")
        ax.set(xlabel="functional distance (RMS over the grid)", ylabel="embedding distance", xscale="log", title=f"{act}-based")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


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
    return fig


def plot_depth1(runs: dict[str, dict]):
    """The depth-1 diagnostic (``studies/depth1_diagnostic.py``): D1's median MPE on held-out
    depth-1 MLPs along training, beside the constant and linear floors, and its median
    correlation with the target and active neurons, per run."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for label, run in runs.items():
        c = run["curve"]
        passes = [p["mlp_passes"] / 1e6 for p in c]
        line = axes[0].plot(passes, [p["d1_median"] for p in c], label=label)[0]
        axes[1].plot(passes, [p["corr_median"] for p in c], color=line.get_color())
        axes[2].plot(passes, [p["active_neurons"] for p in c], color=line.get_color())
    floors = next(iter(runs.values()))["floors"]
    for name, style in (("constant", "--"), ("linear", ":")):
        axes[0].axhline(floors[name]["median"], color="grey", ls=style, label=f"{name} floor ({floors[name]['median']:.1f} %)")
    axes[0].axhline(next(iter(runs.values()))["paper_d1_e1"], color="black", ls="-.", lw=0.8, label="paper D1/E1 (a mean)")
    axes[0].set(xlabel="depth-1 MLPs seen (millions)", ylabel="D1 median MPE (%)", ylim=(0, 105))
    axes[1].set(xlabel="depth-1 MLPs seen (millions)", ylabel="median correlation with the target", ylim=(-0.2, 1))
    axes[2].set(xlabel="depth-1 MLPs seen (millions)", ylabel="active neurons of D1 (of 7)", ylim=(0, 7))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_scaling(study: dict, paper_budget: dict | None = None):
    """The scaling study (``studies/training_scaling.py``, :mod:`swao.ours.scaling_law`), per encoder
    against the MLP passes of training: Table 1's best cell (top; the fitted power law to the
    paper's 12.8 M passes, the paper's values as stars), each MLP's best decoder's median (middle;
    dashed: the constant floor) and mean (bottom). Filled markers: budget
    runs (each with its own schedule); hollow: one long run's points on the way (not in the fit)."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    from swao.ours import scaling_law as scaling

    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    on_way = [p for p in study.get("curve", {}).get("points", []) if p["steps"] != study["curve"]["steps"]]
    x, xw = [r["mlp_passes"] for r in runs], [p["mlp_passes"] for p in on_way]
    paper_x = study["paper_mlp_passes"]
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 11), sharex=True)  # one panel per row: full width in the book
    for k, (ax, name) in enumerate(zip(axes, ("best_cell", "best_median", "best_mean"))):
        fits = scaling.trend(study, name)
        for e in range(4):
            c = f"C{e}"
            ax.plot(x, [scaling.view(r, name)[e] for r in runs], marker="o", color=c, label=f"E{e + 1}")
            if on_way:
                ax.plot(xw, [scaling.view(p, name)[e] for p in on_way], marker="o", mfc="none", ls="none", color=c)
            xs = np.geomspace(min(x), paper_x, 50)
            ax.plot(xs, fits[e]["a"] * xs ** fits[e]["b"], color=c, ls=(0, (1, 2)) if name != "best_cell" else "--", lw=0.9)
            if name == "best_cell":  # spread a little in x: three of the paper's four values are ~24 %
                ax.plot([paper_x * 10 ** (0.06 * (e - 1.5))], [fits[e]["paper"]], marker="*", ms=12, color=c, ls="none",
                        mec="k", mew=0.4)
            if name == "best_median":
                ax.axhline(study["floors"]["constant"]["median"][e], color=c, ls="--", lw=0.6, alpha=0.7)
            if paper_budget and paper_budget.get("scored"):
                pts = paper_budget["scored"]
                ax.plot([p["mlp_passes"] for p in pts], [scaling.view(p, name)[e] for p in pts], marker="s", ms=6, color=c,
                        mec="k", mew=0.8, ls=":", lw=0.8)
        ax.axvline(paper_x, color="0.5", lw=0.6)
        ax.set(xscale="log", yscale="log", xlabel="MLP passes of training (paper: 12.8 M)" if k == 2 else "")
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter(""))
    axes[0].set(ylabel="MPE (%)", title="Table 1's best cell (mean over MLPs): the fit to 12.8 M; stars: the paper")
    axes[1].set(ylabel="MPE (%)", title="each MLP's best decoder: median (dashed: the constant floor)")
    axes[2].set(ylabel="MPE (%)", title="each MLP's best decoder: mean")
    axes[0].legend(fontsize=7, title="filled: budget runs\nhollow: on the way"
                   + ("\nsquares: the paper's recipe,\n12.8 M-pass run so far" if paper_budget and paper_budget.get("scored") else ""),
                   title_fontsize=7)
    fig.tight_layout()
    return fig

def plot_memorisation(study: dict):
    """The memorisation pre-flight (``studies/memorisation.py``): on the one fixed batch it trains
    on, the median over its MLPs of the best decoder's MPE (left; grey: the floors on the same
    MLPs) and the training loss (right), per learning rate (colour) and mask kind (solid: the
    authors' hard masks; dashed: straight-through)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    lrs = sorted({r["lr"] for r in study["runs"]})
    for r in sorted(study["runs"], key=lambda r: (r["mask_grad"], r["lr"])):
        c = r["curve"]
        color, ls = f"C{lrs.index(r['lr'])}", "-" if r["mask_grad"] == "none" else "--"
        label = f"lr {r['lr']:g}, {'hard' if r['mask_grad'] == 'none' else 'straight-through'}"
        axes[0].plot([p["step"] for p in c], [p["best_median"] for p in c], color=color, ls=ls, label=label)
        axes[1].plot([p["step"] for p in c[1:]], [p["loss"] for p in c[1:]], color=color, ls=ls)
    for name, style in (("constant", "--"), ("linear", ":")):
        v = study["floors"][name]["median"]
        axes[0].axhline(v, color="0.4", ls=style, lw=1, label=f"{name} floor ({v:.1f} %)")
    axes[0].set(xlabel="steps on the same batch", ylabel="best-decoder median MPE (%)", yscale="log",
                title=f"{study['mlps']} {study['activation']} MLPs, memorised?")
    axes[1].set(xlabel="steps on the same batch", ylabel="min loss (eq. 3), mean of the last steps", yscale="log",
                title="training loss")
    axes[0].legend(fontsize=7, ncol=1, loc="upper right")
    fig.tight_layout()
    return fig


def plot_paper_budget(curve: dict):
    """The paper-budget CPU run (``studies/paper_budget.py``) on its validation MLPs, per encoder
    against the MLP passes so far (the x-axis ends at the paper's 12.8 M): each MLP's best decoder's
    median MPE (top; dashed: the constant floor of the same MLPs) and the median correlation of
    that decoding with its target (bottom)."""
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 6.4), sharex=True)
    v = curve["val"]
    x = [p["mlp_passes"] / 1e6 for p in v]
    for e in range(4):
        c = f"C{e}"
        axes[0].plot(x, [p["best_decoder_median"][e] for p in v], marker="o", ms=3, color=c, label=f"E{e + 1}")
        axes[0].axhline(curve["floors"]["constant"]["median"][e], color=c, ls="--", lw=0.7)
        axes[1].plot(x, [p["median_correlation"][e] for p in v], marker="o", ms=3, color=c, label=f"E{e + 1}")
    paper = curve["paper_mlp_passes"] / 1e6
    for ax in axes:
        ax.axvline(paper, color="0.5", lw=0.8)
        ax.set_xlim(0, paper * 1.02)
    axes[0].set(yscale="log", ylabel="best-decoder median MPE (%)",
                title=f"validation ({curve['validation_mlps_per_encoder']} MLPs per encoder); dashed: constant floor")
    axes[1].set(ylim=(-0.2, 1), xlabel="MLP passes of training (millions; grey line: the paper's 12.8 M)",
                ylabel="median correlation with the target")
    axes[0].legend(fontsize=8, ncol=4)
    fig.tight_layout()
    return fig
