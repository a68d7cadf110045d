"""Batched forward pass agrees with nn.Sequential and with a per-MLP loop."""
import pytest
import torch

from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward, forward_batch
from swao.method.generation import input_grid, random_mlps
from swao.method.representation import H, matrix_width, to_sequential, unpad_matrix


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_batch_of_mixed_depths_matches_sequential(activation, dtype, tol):
    """Exact to 1e-10 in float64; in float32 the products are summed in another order than
    nn.Linear's, so outputs of magnitude ~10 differ in their last bits (tolerance 1e-5)."""
    padded, depth = random_mlps(64, activation, seed=3)
    padded = padded.to(dtype)
    x = input_grid(dtype=dtype)
    y = forward_batch(padded, depth, x, activation)
    assert y.shape == (64, 1000) and y.dtype == dtype
    for i in range(64):
        m = unpad_matrix(padded[i], depth[i])
        with torch.no_grad():
            ref = to_sequential(m, activation)(x).squeeze(-1)
        assert torch.allclose(y[i], ref, atol=tol, rtol=tol), (i, (y[i] - ref).abs().max())
        assert torch.allclose(forward(m, x, activation), ref, atol=tol, rtol=tol)


def test_per_mlp_inputs_and_gradients():
    padded, depth = random_mlps(5, "leaky_relu", seed=1)
    padded.requires_grad_(True)
    x = torch.rand(5, 20, 3) * 2 - 1
    y = forward_batch(padded, depth, x, "leaky_relu")
    for i in range(5):
        assert torch.allclose(y[i], forward(unpad_matrix(padded[i], depth[i]), x[i], "leaky_relu"), atol=1e-6)
    y.sum().backward()
    assert padded.grad is not None and torch.isfinite(padded.grad).all()


def test_layer_with_no_active_neuron():
    m = torch.randn(H, matrix_width(2))
    m[:, -1] = 0  # layer 2 has no active neuron
    m[:, -2] = 1
    x = input_grid(4)
    y = forward(m, x, "sigmoid")
    assert torch.allclose(y, torch.zeros_like(y))
    with torch.no_grad():
        assert torch.allclose(to_sequential(m, "sigmoid")(x).squeeze(-1), y)


def test_bad_inputs():
    m = torch.zeros(H, 9)
    with pytest.raises(ValueError, match="x must have shape"):
        forward(m, torch.zeros(10, 2), "sigmoid")
    with pytest.raises(ValueError, match="activation"):
        forward(m, torch.zeros(10, 3), "tanh")
    padded, depth = random_mlps(3, "sigmoid", seed=0)
    with pytest.raises(ValueError, match="depth"):
        forward_batch(padded, depth[:2], torch.zeros(4, 3), "sigmoid")
    with pytest.raises(ValueError, match="input sets"):
        forward_batch(padded, depth, torch.zeros(2, 4, 3), "sigmoid")
