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


def _eq1_literal(matrix, x, activation):
    """Eq. 1 as written, the masks on the hidden activations, ``h_l = phi(h_{l-1} B_l) * m_l``, ``y =
    psi(h_L b_out)``; laid out as the core is (points last, the same products), one MLP."""
    from swao.method.activations import mlp_type
    from swao.method.representation import INPUT_SLICE, split_matrix

    t = mlp_type(activation)
    blocks, out, masks = split_matrix(matrix.unsqueeze(0))
    h = t.phi(torch.matmul(blocks[:, 0, INPUT_SLICE].transpose(1, 2).contiguous(), x.T.unsqueeze(0))) * masks[:, 0, :, None]
    for l in range(1, blocks.shape[1]):
        h = t.phi(torch.bmm(blocks[:, l].transpose(1, 2), h)) * masks[:, l, :, None]
    return t.psi(torch.bmm(out.unsqueeze(1), h).squeeze(1))[0]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_masks_on_the_next_weights_are_eq1_in_value_and_gradient(activation):
    """The core applies layer l's masks to B_{l+1}'s rows and b_out: the same function as eq. 1
    with the masks on the hidden activations, for soft masks too, with the same gradients; bit for
    bit in float32 where the masks are 0 or 1."""
    padded, depth = random_mlps(8, activation, seed=5)
    x = torch.rand(30, 3, dtype=torch.float64) * 2 - 1
    for i in range(8):
        hard = unpad_matrix(padded[i], depth[i])
        assert torch.equal(forward(hard, x.float(), activation), _eq1_literal(hard, x.float(), activation))
        m = hard.double()
        L = int(depth[i])
        m[:, matrix_width(L) - L:] = torch.rand(H, L, dtype=torch.float64)  # soft masks in (0, 1)
        a, b = m.clone().requires_grad_(True), m.clone().requires_grad_(True)
        ya, yb = forward(a, x, activation), _eq1_literal(b, x, activation)
        assert torch.allclose(ya, yb, atol=1e-12), (i, (ya - yb).abs().max())
        ya.square().sum().backward()
        yb.square().sum().backward()
        assert torch.allclose(a.grad, b.grad, atol=1e-10), (i, (a.grad - b.grad).abs().max())
        assert b.grad[:, matrix_width(L) - L:].abs().sum() > 0  # the masks' gradients are compared too
