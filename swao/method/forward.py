"""Batched, differentiable evaluation of MLP matrices (the forward pass of eq. 1): one core,
:func:`forward_points_last`, under every evaluation of the library (the fused search MSE,
:class:`swao.method.fused_mse.FusedMSE`, is a kernel of its own, tested against it).

``h_0 = x`` (placed on input rows 2-4), ``h_l = phi(h_{l-1} B_l) * m_l``, ``y = psi(h_L b_out)``,
with ``phi`` and ``psi`` of the MLP type (:mod:`swao.method.activations`).
"""
from __future__ import annotations

import torch

from swao.method.activations import check_activation, mlp_type
from swao.method.representation import (
    DEPTHS,
    INPUT_SLICE,
    N_IN,
    check_batch,
    check_matrix,
    matrix_width,
    split_matrix,
)


def _check_inputs(x: torch.Tensor, n: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.shape[-1] != N_IN or x.dim() not in (2, 3):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (P, {N_IN}) or (N, P, {N_IN}), got {shape}")
    if x.dim() == 3 and x.shape[0] not in (1, n):
        raise ValueError(f"x has {x.shape[0]} input sets for {n} MLPs")
    return x


def _input_block(blocks: torch.Tensor) -> torch.Tensor:
    """The input rows of ``B_1``, ``(N, 3, H)``, contiguous: the same tensor as
    ``blocks[:, 0, list(INPUT_ROWS)]`` without copying an index list to the device (a blocking
    host-to-device copy, i.e. a sync, on CUDA)."""
    return blocks[:, 0, INPUT_SLICE].contiguous()


def forward_points_last(matrix: torch.Tensor, xt: torch.Tensor, activation: str, masked: bool = True) -> torch.Tensor:
    """The core of eq. 1 for matrices of one depth ``(N, H, 8L+1)`` on inputs ``xt (N or 1, 3, P)``.

    Laid out with the points last, ``h (N, H, P)``: on CPU the ``(N, 7, 7) x (N, 7, P)`` products
    are 5-9x faster than ``(N, P, 7) x (N, 7, 7)``. Layer ``l``'s masks are applied to the rows of
    the next layer's weights, ``(h_l * m_l) B_{l+1} = h_l (diag(m_l) B_{l+1})``, and the last
    layer's to ``b_out``: the same function as eq. 1 (bit for bit where the masks are 0 or 1), with
    ``H x H`` mask products per layer instead of ``H x P`` on the points (about 10 % of a small
    training step; ``benchmarks/RESULTS.md``). ``masked=False`` skips the mask products, for
    matrices already passed through :func:`swao.method.representation.apply_masks` (the decoders'
    output): an inactive neuron's outgoing weights are then 0 and it adds exact zeros.
    Returns ``(N, P)``. No input checks (the hot path of training and search).
    """
    t = mlp_type(activation)
    phi, psi = t.phi, t.psi
    blocks, out, masks = split_matrix(matrix)
    h = phi(torch.matmul(_input_block(blocks).transpose(1, 2), xt))
    for l in range(1, blocks.shape[1]):
        b = blocks[:, l] * masks[:, l - 1, :, None] if masked else blocks[:, l]
        h = phi(torch.bmm(b.transpose(1, 2), h))
    if masked:
        out = out * masks[:, -1]
    return psi(torch.bmm(out.unsqueeze(1), h).squeeze(1))


def points_last(x: torch.Tensor) -> torch.Tensor:
    """``(P, 3)`` -> ``(1, 3, P)``; ``(N, P, 3)`` -> ``(N, 3, P)``."""
    return x.T.unsqueeze(0) if x.dim() == 2 else x.transpose(1, 2)


def forward(matrix: torch.Tensor, x: torch.Tensor, activation: str) -> torch.Tensor:
    """Evaluate matrices of one depth, ``(N, H, 8L+1)`` (or one ``(H, 8L+1)``), on ``x``.

    ``x`` is ``(P, 3)`` (shared) or ``(N, P, 3)``; returns ``(N, P)`` (or ``(P,)``).
    """
    check_matrix(matrix)
    check_activation(activation)
    single = matrix.dim() == 2
    m = matrix.unsqueeze(0) if single else matrix
    _check_inputs(x, m.shape[0])
    y = forward_points_last(m, points_last(x.to(m.dtype)), activation)
    return y[0] if single else y


def forward_batch(padded: torch.Tensor, depth: torch.Tensor, x: torch.Tensor, activation: str) -> torch.Tensor:
    """Evaluate a padded batch of mixed depths ``(N, H, 33)`` with ``depth (N,)`` on ``x``:
    :func:`forward_points_last` on the MLPs of each depth (their first ``8L+1`` columns).
    Returns ``(N, P)``.
    """
    check_batch(padded, depth)
    _check_inputs(x, padded.shape[0])
    xt = points_last(x.to(padded.dtype))
    d = depth.to(padded.device)
    y = padded.new_empty(padded.shape[0], xt.shape[-1])
    for L in DEPTHS:
        rows = torch.nonzero(d == L).flatten()
        if rows.numel():
            y[rows] = forward_points_last(padded[rows, :, : matrix_width(L)], xt if xt.shape[0] == 1 else xt[rows], activation)
    return y
