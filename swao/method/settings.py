"""What a search is given besides its decoder and data (Section 3.2, eq. 4-6; Section 4.2): its
budget and its options, two small frozen values, each checked once, when it is made.

* :class:`SearchBudget`: how much searching -- steps, restarts per (dataset, decoder), which
  decoders, the seed of the starts, how often the exported MLPs are scored on the validation set.
  The baselines (:mod:`swao.ours.baselines`) take the same budget, so every method of Table 2
  gets the same steps.
* :class:`SearchOptions`: how the search runs, the paper's way (the defaults) or ours -- where
  ``z`` starts, which gradient the decoder's masks pass, what eq. 6 sums over, and whether the
  threshold may cut a whole layer.

A configuration builds both (:meth:`swao.training.config.Config.search_budget` and
:meth:`swao.training.config.Config.search_options`); the allowed values are declared in
:mod:`swao.method.options`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from swao.method.options import MASK_GRADS, PENALTIES, STARTS
from swao.method.representation import DEPTHS, check_depth


def _whole(name: str, value, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class SearchBudget:
    """``steps`` of Adam (``>= 0``; the paper: 30,000), ``restarts`` per (dataset, decoder)
    (``>= 1``; the paper gives no number), the decoders' ``depths`` (a non-empty tuple of
    :data:`swao.method.representation.DEPTHS`), the ``seed`` of the starts, and ``eval_every``:
    steps between validation scorings of the exported MLPs (``None``: about 200 in a run,
    :func:`swao.method.optimise.optimise`; the last step is always scored)."""

    steps: int
    restarts: int = 1
    depths: tuple[int, ...] = DEPTHS
    seed: int = 0
    eval_every: int | None = None

    def __post_init__(self) -> None:
        _whole("steps", self.steps, 0)
        _whole("restarts", self.restarts, 1)
        _whole("seed", self.seed, 0)
        if self.eval_every is not None:
            _whole("eval_every", self.eval_every, 1)
        depths = tuple(self.depths) if isinstance(self.depths, (tuple, list)) else ()
        if not depths:
            raise ValueError(f"depths must name one or more of {DEPTHS}, got {self.depths!r}")
        for j in depths:
            check_depth(j)
        object.__setattr__(self, "depths", depths)

    def replace(self, **changes) -> "SearchBudget":
        """A copy with ``changes`` (checked like a new one)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SearchOptions:
    """The search's named options, the paper's by default. ``start``: ``"uniform"`` (the
    paper: ``z ~ U[0, 1)^128``) or ``"encoded"`` (ours: embeddings of random MLPs that decode
    alive). ``masks``: the decoder's mask gradient during the search, ``"none"`` (the paper's
    hard masks) or ``"straight_through"`` (ours). ``penalty``: eq. 6 over ``"all"`` decoded
    weights (the paper) or the ``"active"`` ones (ours). ``keep_layers`` (ours): hold the
    threshold below every layer's largest weight, so that no layer is cut whole."""

    start: str = "uniform"
    masks: str = "none"
    penalty: str = "all"
    keep_layers: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (("start", STARTS), ("masks", MASK_GRADS), ("penalty", PENALTIES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not isinstance(self.keep_layers, bool):
            raise ValueError(f"keep_layers must be True or False, got {self.keep_layers!r}")


PAPER = SearchOptions()  # the paper's search: uniform starts, hard masks, eq. 6 over every weight

__all__ = ["SearchBudget", "SearchOptions", "PAPER"]
