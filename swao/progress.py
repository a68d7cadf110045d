"""Progress bars of long computations (training, the search, the baselines): one style for all.

A plain-text :mod:`tqdm` bar on stderr: steps, steps/s and the time left, in a terminal, in a
log and in a notebook's cell output alike (a widget bar would vanish from a notebook executed
by papermill).
"""
from __future__ import annotations

import sys

from tqdm import tqdm


def bar(total: int, desc: str, initial: int = 0, unit: str = "step") -> tqdm:
    """A progress bar of ``total`` units labelled ``desc``; ``update(1)`` per unit, ``close()`` at the end."""
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1)
