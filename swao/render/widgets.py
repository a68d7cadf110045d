"""Explorers that work in the static HTML book, without a kernel.

A slider is linked *client-side* (``ipywidgets.jslink``) to a ``Stack`` of precomputed PNG
frames, so moving it in the rendered page switches frames with no Python running. The widget
manager JavaScript is vendored in ``book/_vendor`` so this works offline. Every explorer has a
static fallback figure (drawn by the caller) for readers without JavaScript.
"""
from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt

from swao.render.plots import COLUMN_PX, MIN_PX, smallest_text


def frame_dpi(fig) -> float:
    """The smallest resolution that keeps ``fig``'s smallest text at :data:`swao.render.plots.MIN_PX`
    pixels as the page shows the PNG (at its own width, or scaled down to the column; a figure
    wider than the column is first made legible by :func:`swao.render.plots.legible`)."""
    return max(MIN_PX * 72 / (smallest_text(fig) or 10), min(fig.dpi, COLUMN_PX / fig.get_figwidth()))


def figure_png(fig, dpi: float | None = None) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed), at ``dpi`` (default
    :func:`frame_dpi`: an explorer's frame as legible as a figure, and no larger than it must be)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or frame_dpi(fig), bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def frame_explorer(frames: list[bytes], labels: list[str], description: str = "frame") -> widgets.VBox:
    """A slider that switches between precomputed PNG ``frames`` in the browser (``jslink``)."""
    if not frames or len(frames) != len(labels):
        raise ValueError(f"frames and labels must be non-empty and of equal length, got {len(frames)} and {len(labels)}")
    images = [widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%")) for png in frames]
    captions = [widgets.HTML(f"<b>{label}</b>") for label in labels]
    stack = widgets.Stack(images, selected_index=0)
    caption_stack = widgets.Stack(captions, selected_index=0)
    slider = widgets.IntSlider(value=0, min=0, max=len(frames) - 1, step=1, description=description,
                               continuous_update=True, readout=False, layout=widgets.Layout(width="60%"))
    widgets.jslink((slider, "value"), (stack, "selected_index"))
    widgets.jslink((slider, "value"), (caption_stack, "selected_index"))
    return widgets.VBox([widgets.HBox([slider, caption_stack]), stack])
