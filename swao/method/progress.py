"""Progress bars of long computations (training, the search, the baselines): one style for all.

A plain-text :mod:`tqdm` bar on stderr: steps, steps/s and the time left, in a terminal, in a
log and in a notebook's cell output alike (a widget bar would vanish from a notebook executed
by papermill).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Callable

from tqdm import tqdm

if TYPE_CHECKING:
    import torch


_row: int | None = None  # this process's line of the terminal for its bars (None: tqdm's own choice)


def take_row(row: int) -> None:
    """Draw this process's bars on line ``row`` below the cursor: for processes that run beside
    each other (the compute stage's trainings, :func:`swao.book.reproduce.train_at_once`)."""
    global _row
    _row = row


def bar(total: int, desc: str, initial: int = 0, unit: str = "step") -> tqdm:
    """A progress bar of ``total`` units labelled ``desc``; ``update(1)`` per unit, ``close()`` at the end."""
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1, position=_row)


def step_reporter(progress, label: str, steps: int) -> Callable[[int, "torch.Tensor"], None] | None:
    """The search's and the baselines' reporter: ``progress`` False/None (silent), True or a
    label (a bar over ``steps``, with the mean loss at every 10 %, the only points where the
    loss is read back from the device), or a callable ``(step, loss)`` called after every
    step's forward pass, returned as it is."""
    if callable(progress):
        return progress
    if not progress:
        return None
    shown = bar(steps, progress if isinstance(progress, str) else label)
    marks = {round(steps * k / 10) for k in range(1, 11)}

    def show(step: int, loss) -> None:
        shown.update(step - shown.n)
        if step in marks:
            shown.set_postfix(loss=f"{float(loss.mean()):.4g}")
        if step >= steps:
            shown.close()

    return show
