"""Figures of the "Does it learn?" page: the studies of whether, and how fast, the autoencoder
learns (the depth-1 diagnostic, the training-scaling study, the memorisation pre-flight and the
paper-budget run), drawn from their committed results (never from a live computation).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from swao.book.findings import ENCODER_INPUT_NAMES
from swao.render.plots import legible, plain_log_y


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
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return legible(fig)


def plot_scaling(study: dict, paper_budget: dict | None = None):
    """The scaling study (``studies/training_scaling.py``, :mod:`swao.ours.scaling_law`), per encoder
    against the MLP passes of training: Table 1's best cell (top; the fitted power law to the
    paper's 12.8 M passes, the paper's values as stars), each MLP's best decoder's median (middle;
    dashed: the constant floor) and mean (bottom). Filled markers: budget
    runs (each with its own schedule); hollow: one long run's points on the way (not in the fit)."""
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
            ax.plot(xs, scaling.at(fits[e], xs), color=c, ls=(0, (1, 2)) if name != "best_cell" else "--", lw=0.9)
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
        plain_log_y(ax)
    axes[0].set(ylabel="MPE (%)", title="Table 1's best cell (mean over MLPs): the fit to 12.8 M; stars: the paper")
    axes[1].set(ylabel="MPE (%)", title="each MLP's best decoder: median (dashed: the constant floor)")
    axes[2].set(ylabel="MPE (%)", title="each MLP's best decoder: mean")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False,
               title="filled: budget runs; hollow: on the way"
               + (f"; squares: our recipe at the paper's\n12.8 M-pass budget{'' if paper_budget['steps'] >= paper_budget['total_steps'] else ' so far'}" if paper_budget and paper_budget.get("scored") else ""),
               title_fontsize=9)
    fig.tight_layout(rect=(0, 0.8 / fig.get_figheight(), 1, 1))  # the legend below the panels, off the data
    return legible(fig)

def plot_memorisation(study: dict):
    """The memorisation pre-flight (``studies/memorisation.py``): on the one fixed batch it trains
    on, the median over its MLPs of the best decoder's MPE (left; grey: the floors on the same
    MLPs) and the training loss (right), per learning rate (colour) and mask kind (solid: the
    authors' hard masks; dashed: straight-through)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
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
                title=f"the same {study['mlps']} {study['activation']} MLPs, scored")
    late = [p["loss"] for r in study["runs"] for p in r["curve"] if p["step"] >= 100]
    axes[1].set(xlabel="steps on the same batch", ylabel="min loss (eq. 3), mean of the last steps", yscale="log",
                title="training loss", ylim=(0.8 * min(late), 1.5 * max(late)) if late else None)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return legible(fig)


def plot_paper_budget(curve: dict, authors: dict | None = None):
    """The paper-budget CPU run (``studies/paper_budget.py``) on its validation MLPs, per encoder
    against the MLP passes so far (the x-axis ends at the paper's 12.8 M): each MLP's best decoder's
    median MPE (top; dashed: the constant floor of the same MLPs) and the median correlation of
    that decoding with its target (bottom). ``authors``: the authors'-recipe run's ``curve.json``
    on the same validation MLPs, drawn beside it (dash-dot, hollow markers; dotted lines where it
    switches to eval mode and where its learning rate halves)."""
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(2, 1, figsize=(7.5, 6.8), sharex=True)
    runs = [(curve, "-", "o", None)] + ([(authors, "-.", "o", "none")] if authors and authors["val"] else [])
    for run, ls, marker, face in runs:
        v = run["val"]
        x = [p["mlp_passes"] / 1e6 for p in v]
        for e in range(4):
            c = f"C{e}"
            axes[0].plot(x, [p["best_decoder_median"][e] for p in v], marker=marker, ms=3, mfc=face, color=c, ls=ls)
            axes[1].plot(x, [p["median_correlation"][e] for p in v], marker=marker, ms=3, mfc=face, color=c, ls=ls)
    for e in range(4):
        axes[0].axhline(curve["floors"]["constant"]["median"][e], color=f"C{e}", ls="--", lw=0.7)
    paper = curve["paper_mlp_passes"] / 1e6
    for ax in axes:
        ax.axvline(paper, color="0.5", lw=0.8)
        if len(runs) > 1:
            c = authors["config"]
            frozen = c["norm_frozen_after"] * c["train_mlps"] / 1e6
            halved = c["lr_halve_epochs"] * c["train_mlps"] / 1e6  # their StepLR(2, 0.5), stepped per epoch
            ax.axvline(frozen, color="0.5", lw=0.8, ls=":")
            if c.get("schedule", "step") == "step" and halved < paper:
                ax.axvline(halved, color="0.5", lw=0.8, ls=":")
            if ax is axes[1]:
                ax.text(frozen, 0.9, " the authors' recipe:\n eval mode from here", fontsize=8, color="0.3", va="top")
                if c.get("schedule", "step") == "step" and halved < paper:
                    ax.text(halved, 0.9, " its lr halves", fontsize=8, color="0.3", va="top")
        ax.set_xlim(0, paper * 1.02)
    axes[0].set(yscale="log", ylabel="best-decoder median MPE (%)",
                title=f"validation ({curve['validation_mlps_per_encoder']} MLPs per encoder); dashed: constant floor")
    plain_log_y(axes[0])
    axes[1].set(ylim=(-0.2, 1), xlabel="MLP passes of training (millions; grey line: the paper's 12.8 M)",
                ylabel="median correlation with the target")
    handles = [Line2D([], [], color=f"C{e}", label=f"E{e + 1}") for e in range(4)]
    if len(runs) > 1:  # in the correlation panel's empty middle: E1/E2 above, E3/E4 at zero
        handles += [Line2D([], [], color="0.3", ls="-", marker="o", ms=3, label=f"ours, batch {curve['config']['batch_size']:,}"),
                    Line2D([], [], color="0.3", ls="-.", marker="o", ms=3, mfc="none",
                           label=f"the authors', batch {authors['config']['batch_size']}")]
        axes[1].legend(handles=handles, fontsize=9, ncol=2, loc="center right")
    else:
        axes[0].legend(handles=handles, fontsize=9, ncol=4)
    fig.tight_layout()
    return legible(fig)


def plot_symmetry(study: dict):
    """The symmetry study (``studies/symmetry_study.py``) along training, on each run's validation
    MLPs: per encoder (one panel each), each MLP's best decoder's median MPE for the paper's input
    (as drawn) and the canonical one, the seed mean as a line and the seeds' range as a band, beside
    the constant (dashed) and linear (dotted) floors on the same MLPs (seed means); and below, the
    training loss and the median correlation with the target, per input (seed means)."""
    from matplotlib.lines import Line2D

    def mean_band(runs, get):
        ys = np.array([[get(r, i) for i in range(len(r["curve"]["step"]))] for r in runs])
        return ys.mean(0), ys.min(0), ys.max(0)

    fig = plt.figure(figsize=(9, 9.6))
    grid = fig.add_gridspec(3, 2, height_ratios=(1, 1, 1.05))
    panels = [fig.add_subplot(grid[e // 2, e % 2]) for e in range(4)]
    loss_ax, corr_ax = fig.add_subplot(grid[2, 0]), fig.add_subplot(grid[2, 1])
    for k, name in enumerate(ENCODER_INPUT_NAMES):
        runs = [r for r in study["runs"] if r["encoder_input"] == name]
        if not runs:
            continue
        color = f"C{k}"
        x = np.array(runs[0]["curve"]["step"]) * runs[0]["mlp_passes"] / runs[0]["curve"]["step"][-1] / 1e3
        for e, ax in enumerate(panels):
            m, lo, hi = mean_band(runs, lambda r, i: r["curve"]["best_decoder_median"][i][e])
            ax.plot(x, m, color=color, marker="o", ms=3, label=f"{ENCODER_INPUT_NAMES[name]}, {len(runs)} seed{'s' * (len(runs) > 1)}")
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
            if k == 0:
                for f, style in (("constant", "--"), ("linear", ":")):
                    level = np.mean([r["curve"]["floors"][f]["median"][e] for r in runs])
                    ax.axhline(level, color="0.35", ls=style, lw=1, label=f"{f} floor" if e == 0 else None)
            ax.set(title=f"E{e + 1}: MLPs with {e + 1} hidden layer{'s' * (e > 0)}", yscale="log",
                   ylabel="best-decoder median MPE (%)" if e % 2 == 0 else "")
        lx = np.array(runs[0]["curve"]["loss_step"]) * runs[0]["mlp_passes"] / runs[0]["curve"]["step"][-1] / 1e3
        lm = np.mean([r["curve"]["loss"] for r in runs], axis=0)
        w = max(1, len(lm) // 40)  # a running mean over 1/40 of the run: the per-batch loss is noisy
        loss_ax.plot(lx[w - 1:], np.convolve(lm, np.ones(w) / w, mode="valid"), color=color, lw=1.2, label=ENCODER_INPUT_NAMES[name])
        for e in range(4):
            cm, _, _ = mean_band(runs, lambda r, i: r["curve"]["median_correlation"][i][e])
            corr_ax.plot(x, cm, color=color, ls=("-", "--", "-.", ":")[e], lw=1.2)
    loss_ax.set(yscale="log", xlabel="MLP passes of training (thousands)", ylabel="min loss (eq. 3)", title="training loss (seed mean, running mean)")
    corr_ax.set(ylim=(-0.3, 1), xlabel="MLP passes of training (thousands)", ylabel="median correlation with the target",
                title="shape: median correlation (seed mean)")
    corr_ax.axhline(0, color="0.6", lw=0.6)
    corr_ax.legend([Line2D([], [], color="0.3", ls=ls) for ls in ("-", "--", "-.", ":")], [f"E{e + 1}" for e in range(4)],
                   fontsize=9, ncol=2, title="line style: encoder", title_fontsize=9)
    for ax in (*panels, loss_ax):
        plain_log_y(ax)
    handles, labels = panels[0].get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: "floor" in labels[i])
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return legible(fig)
