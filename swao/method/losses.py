"""The autoencoder's losses (Section 3.1, eq. 2 and 3). They compare functions, never weights.

Per MLP ``f`` and decoder ``D_j`` (decoded MLP ``g_j``), over the 1,000-point input grid:

    l_j = mean_x (g_j(x) - f(x))^2

* min loss (eq. 3):    ``min_j l_j``  (the paper's best; used for every later experiment)
* p-norm loss (eq. 2): ``(sum_j l_j^p)^(1/p)``  (p = 1: every decoder must fit; p < 1 leans
  toward the best decoder; the book uses p = 1 and p = 0.5)

The loss of a batch is the mean over its MLPs.

Both evaluate MLPs with :func:`swao.method.forward.forward_points_last` (no input checks: the hot path
of training), which keeps activations feature-major, ``(N, H, P)``: the per-MLP products are
``(7 x 7) @ (7 x 1000)`` instead of ``(1000 x 7) @ (7 x 7)``, which batched GEMM runs several
times faster on CPU (benchmarks/RESULTS.md); the first layer is one GEMM for the whole batch.
"""
from __future__ import annotations

import torch

from swao.method.activations import check_activation
from swao.method.forward import forward_batch, forward_points_last, points_last
from swao.method.options import LOSS_SCALES
from swao.method.representation import DEPTHS, matrix_width

LOSSES = ("min", "pnorm")
EPS = 1e-12  # l_j is clamped to >= EPS before l_j^p so that p < 1 keeps a finite gradient


def check_loss(loss: str, p: float | None = None) -> float | None:
    """Validate a loss name and its ``p``; returns ``p`` as a float (``None`` for ``"min"``)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss == "min":
        if p is not None:
            raise ValueError("p is only used by the 'pnorm' loss; leave it out for 'min'")
        return None
    if p is None or isinstance(p, bool) or not isinstance(p, (int, float)) or not (0 < p < float("inf")):
        raise ValueError(f"the 'pnorm' loss needs a finite p > 0 (the book uses 1 and 0.5), got {p!r}")
    return float(p)


def target_outputs(padded: torch.Tensor, depth: torch.Tensor, x: torch.Tensor, activation: str,
                   counts: tuple[int, ...] | None = None) -> torch.Tensor:
    """``f(x)`` of a padded batch of input MLPs, ``(N, P)``: the regression targets (no gradient).
    ``counts``: the batch is sorted by depth with these many MLPs of each depth."""
    check_activation(activation)
    with torch.no_grad():
        if counts is None:
            return forward_batch(padded, depth, x, activation)
        # sorted by depth: slices, no index lists (on CUDA, torch.nonzero is a host sync)
        xt = points_last(x.to(padded.dtype))
        parts = padded.split(list(counts))
        return torch.cat([forward_points_last(p[..., : matrix_width(L)], xt, activation) for p, L in zip(parts, DEPTHS) if len(p)])


def decoder_losses(decoded: list[torch.Tensor], y: torch.Tensor, x: torch.Tensor, activation: str) -> torch.Tensor:
    """``l_j`` for every MLP and decoder: ``(N, len(decoded))``.

    ``decoded[j]`` is ``(N, 7, 8(j+1)+1)`` (masked, as the decoders emit it), ``y = f(x)`` is
    ``(N, P)`` and ``x`` the ``(P, 3)`` inputs. Computed in float32 whatever the model's dtype.
    """
    check_activation(activation)
    xt = points_last(x.float())
    return torch.stack(
        [(forward_points_last(g.float(), xt, activation) - y).square().mean(dim=-1) for g in decoded], dim=-1
    )


def combine(l: torch.Tensor, loss: str = "min", p: float | None = None) -> torch.Tensor:
    """Per-MLP loss from ``l (N, J)``: eq. 3 (``"min"``) or eq. 2 (``"pnorm"`` with ``p``)."""
    p = check_loss(loss, p)
    if loss == "min":
        return l.min(dim=-1).values
    return l.clamp_min(EPS).pow(p).sum(dim=-1).pow(1.0 / p)


RELATIVE_EPS = 1e-6  # added to the mean squared output of a "relative" loss


def autoencoder_loss(
    decoded: list[torch.Tensor], y: torch.Tensor, x: torch.Tensor, activation: str,
    loss: str = "min", p: float | None = None, loss_scale: str = "none",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch loss (mean over MLPs of :func:`combine`) and the detached ``l (N, J)``.
    ``loss_scale="relative"`` (ours, off by default): each MLP's ``l_j`` divided by ``mean_x f(x)^2``,
    so that MLPs with large outputs do not dominate an error that eq. 7 judges relatively."""
    if loss_scale not in LOSS_SCALES:
        raise ValueError(f"loss_scale must be one of {LOSS_SCALES}, got {loss_scale!r}")
    l = decoder_losses(decoded, y, x, activation)
    if loss_scale == "relative":
        l = l / (y.square().mean(-1, keepdim=True) + RELATIVE_EPS)
    return combine(l, loss, p).mean(), l.detach()


def copy_loss(decoded: list[torch.Tensor], padded: torch.Tensor, counts: tuple[int, ...]) -> torch.Tensor:
    """Ours, not the paper's (``Config.copy_weight``, off by default): the mean squared
    difference, entry by entry, between each input matrix and its same-depth decoding (weights
    and 0/1 masks), over a batch sorted by depth with ``counts`` MLPs of each depth. A weight-space
    signal that keeps the decoded neurons alive while the functional loss has not found them."""
    parts, start = [], 0
    for L, n in zip(DEPTHS, counts):
        if n:
            g = decoded[L - 1][start : start + n].float()
            parts.append((g - padded[start : start + n, :, : matrix_width(L)]).square().flatten(1).mean(-1))
        start += n
    return torch.cat(parts).mean()


__all__ = ["LOSSES", "LOSS_SCALES", "copy_loss", "check_loss", "target_outputs", "decoder_losses", "combine", "autoencoder_loss"]
