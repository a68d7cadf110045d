"""The three MLP types of the paper (Section 4.1), one object each: every module takes its
activations, their ``nn`` modules, the fused search kernel's derivative and the random MLPs'
weight range from here.

==============  =====================  ==================  ====================
type            hidden ``phi``          output ``psi``       weights drawn from
==============  =====================  ==================  ====================
``sigmoid``     sigmoid                identity            U[-10, 10]
``leaky_relu``  leaky ReLU, slope 0.1  sigmoid             U[-3, 3]
``linear``      identity               sigmoid             U[-3, 3]
==============  =====================  ==================  ====================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class MLPType:
    """One MLP type: ``y = psi(h_L b_out)`` with ``h_l = phi(h_{l-1} B_l)`` (eq. 1)."""

    name: str
    phi: Callable[[torch.Tensor], torch.Tensor]  # hidden activation
    psi: Callable[[torch.Tensor], torch.Tensor]  # output activation
    phi_: Callable[[torch.Tensor], torch.Tensor]  # phi in place (the fused search MSE)
    dphi: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # phi's backward from its output: (grad, h)
    hidden_module: Callable[[], nn.Module]  # nn.Module of phi, for torch.nn.Sequential
    output_module: Callable[[], nn.Module]  # nn.Module of psi
    weight_range: float  # the random MLPs' non-zero weights are drawn from U[-r, r]

    @property
    def sigmoid_output(self) -> bool:
        return self.psi is torch.sigmoid


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.leaky_relu(x, LEAKY_SLOPE)


MLP_TYPES: dict[str, MLPType] = {
    "sigmoid": MLPType("sigmoid", torch.sigmoid, _identity, torch.sigmoid_,
                       lambda g, h: torch.ops.aten.sigmoid_backward(g, h), nn.Sigmoid, nn.Identity, 10.0),
    "leaky_relu": MLPType("leaky_relu", _leaky, torch.sigmoid, lambda a: nn.functional.leaky_relu_(a, LEAKY_SLOPE),
                          lambda g, h: torch.ops.aten.leaky_relu_backward(g, h, LEAKY_SLOPE, True),
                          lambda: nn.LeakyReLU(LEAKY_SLOPE), nn.Sigmoid, 3.0),
    "linear": MLPType("linear", _identity, torch.sigmoid, _identity, lambda g, h: g, nn.Identity, nn.Sigmoid, 3.0),
}
ACTIVATIONS = tuple(MLP_TYPES)
TYPE_NAMES = {"sigmoid": "Sigmoid-based", "leaky_relu": "Leaky ReLU-based", "linear": "Linear-based"}  # the paper's names


def check_activation(activation: str) -> str:
    if activation not in MLP_TYPES:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def mlp_type(activation: str) -> MLPType:
    """The :class:`MLPType` named ``activation`` (a clear error for any other name)."""
    return MLP_TYPES[check_activation(activation)]


def activation_of_modules(hidden: list[nn.Module], output: nn.Module) -> str:
    """Recognise the MLP type from the activation modules of an ``nn.Sequential``."""
    for t in MLP_TYPES.values():
        if type(output) is type(t.output_module()) and all(_same_module(m, t.hidden_module()) for m in hidden):
            return t.name
    raise ValueError(
        "activations must be (Sigmoid, Identity), (LeakyReLU(0.1), Sigmoid) or (Identity, Sigmoid) "
        f"for the hidden and output layers, got {[type(m).__name__ for m in hidden]}, {type(output).__name__}"
    )


def _same_module(a: nn.Module, b: nn.Module) -> bool:
    if type(a) is not type(b):
        return False
    return not isinstance(a, nn.LeakyReLU) or a.negative_slope == b.negative_slope


__all__ = ["LEAKY_SLOPE", "MLPType", "MLP_TYPES", "ACTIVATIONS", "TYPE_NAMES", "check_activation", "mlp_type", "activation_of_modules"]
