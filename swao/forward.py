"""Batched, differentiable evaluation of MLP matrices (the forward pass of eq. 1).

``h_0 = x`` (placed on input rows 2-4), ``h_l = phi(h_{l-1} B_l) * m_l``, ``y = psi(h_L b_out)``.

The three MLP types of the paper (Section 4.1):

==============  =====================  ==================
activation      hidden ``phi``          output ``psi``
==============  =====================  ==================
``sigmoid``     sigmoid                identity
``leaky_relu``  leaky ReLU, slope 0.1  sigmoid
``linear``      identity               sigmoid
==============  =====================  ==================
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .representation import (
    INPUT_SLICE,
    MAX_DEPTH,
    N_IN,
    batch_parts,
    check_batch,
    check_matrix,
    split_matrix,
)

ACTIVATIONS = ("sigmoid", "leaky_relu", "linear")
LEAKY_SLOPE = 0.1


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.leaky_relu(x, LEAKY_SLOPE)


_FUNCS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (torch.sigmoid, _identity),
    "leaky_relu": (_leaky, torch.sigmoid),
    "linear": (_identity, torch.sigmoid),
}


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def activation_functions(activation: str) -> tuple[Callable, Callable]:
    """``(phi, psi)``: the hidden and output activation functions of an MLP type."""
    return _FUNCS[check_activation(activation)]


def activation_modules(activation: str) -> tuple[Callable[[], nn.Module], Callable[[], nn.Module]]:
    """Factories of the ``nn.Module`` equivalents of ``(phi, psi)``."""
    check_activation(activation)
    return {
        "sigmoid": (nn.Sigmoid, nn.Identity),
        "leaky_relu": (lambda: nn.LeakyReLU(LEAKY_SLOPE), nn.Sigmoid),
        "linear": (nn.Identity, nn.Sigmoid),
    }[activation]


def activation_of_modules(hidden: list[nn.Module], output: nn.Module) -> str:
    """Recognise the MLP type from the activation modules of an ``nn.Sequential``."""
    for name in ACTIVATIONS:
        h, o = activation_modules(name)
        if type(output) is type(o()) and all(_same_module(m, h()) for m in hidden):
            return name
    raise ValueError(
        "activations must be (Sigmoid, Identity), (LeakyReLU(0.1), Sigmoid) or (Identity, Sigmoid) "
        f"for the hidden and output layers, got {[type(m).__name__ for m in hidden]}, {type(output).__name__}"
    )


def _same_module(a: nn.Module, b: nn.Module) -> bool:
    if type(a) is not type(b):
        return False
    return not isinstance(a, nn.LeakyReLU) or a.negative_slope == b.negative_slope


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
    are 5-9x faster than ``(N, P, 7) x (N, 7, 7)``. ``masked=False`` skips the mask products,
    for matrices already passed through :func:`swao.representation.apply_masks` (the decoders'
    output): an inactive neuron's outgoing weights are then 0 and it adds exact zeros.
    Returns ``(N, P)``. No input checks (the hot path of training and search).
    """
    phi, psi = activation_functions(activation)
    blocks, out, masks = split_matrix(matrix)
    h = phi(torch.matmul(_input_block(blocks).transpose(1, 2), xt))
    if masked:
        h = h * masks[:, 0, :, None]
    for l in range(1, blocks.shape[1]):
        h = phi(torch.bmm(blocks[:, l].transpose(1, 2), h))
        if masked:
            h = h * masks[:, l, :, None]
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
    """Evaluate a padded batch of mixed depths ``(N, H, 33)`` with ``depth (N,)`` on ``x``.

    Every MLP goes through 4 layers; an MLP of depth ``L`` keeps ``h_L`` unchanged through
    the layers past ``L``. Returns ``(N, P)``.
    """
    check_batch(padded, depth)
    _check_inputs(x, padded.shape[0])
    phi, psi = activation_functions(activation)
    blocks, out, masks = batch_parts(padded, depth)
    d = depth.to(padded.device).view(-1, 1, 1)
    xt = points_last(x.to(padded.dtype))
    h = phi(torch.matmul(_input_block(blocks).transpose(1, 2), xt)) * masks[:, 0, :, None]
    for l in range(1, min(MAX_DEPTH, int(depth.max()))):
        h_next = phi(torch.bmm(blocks[:, l].transpose(1, 2), h)) * masks[:, l, :, None]
        h = torch.where(d > l, h_next, h)
    return psi(torch.bmm(out.unsqueeze(1), h).squeeze(1))
