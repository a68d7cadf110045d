"""Eq. 2 and 3 against a hand computation with explicit loops (micrograd style)."""
import math

import pytest
import torch

from swao.method.activations import LEAKY_SLOPE
from swao.method.forward import forward, forward_batch, forward_points_last, points_last
from swao.method.generation import random_mlps
from swao.method.losses import autoencoder_loss, check_loss, combine, decoder_losses, target_outputs
from swao.method.representation import H, INPUT_ROWS, unpad_matrix

PHI = {"sigmoid": lambda s: 1 / (1 + math.exp(-s)), "leaky_relu": lambda s: s if s > 0 else LEAKY_SLOPE * s, "linear": lambda s: s}
PSI = {"sigmoid": lambda s: s, "leaky_relu": PHI["sigmoid"], "linear": PHI["sigmoid"]}


def mlp_by_hand(m: list[list[float]], x: list[float], activation: str) -> float:
    """Evaluate one matrix (nested lists, H x (8L+1)) at one input with explicit loops."""
    L = (len(m[0]) - 1) // (H + 1)
    h = [0.0] * H
    for i, r in enumerate(INPUT_ROWS):
        h[r] = x[i]
    for l in range(L):
        new = []
        for k in range(H):
            s = sum(h[r] * m[r][l * H + k] for r in range(H))
            new.append(PHI[activation](s) * m[k][H * L + 1 + l])
        h = new
    return PSI[activation](sum(h[r] * m[r][H * L] for r in range(H)))


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "linear"])
def test_losses_match_a_hand_computation(activation):
    torch.manual_seed(0)
    padded, depth = random_mlps(3, activation, seed=11)
    x = torch.rand(4, 3) * 2 - 1
    decoded = [random_mlps(3, activation, seed=20 + j, depth=j)[0][:, :, : 8 * j + 1] for j in (1, 2, 3, 4)]
    # by hand
    f = [[mlp_by_hand(unpad_matrix(padded[i], int(depth[i])).tolist(), xi, activation) for xi in x.tolist()] for i in range(3)]
    l = [[0.0] * 4 for _ in range(3)]
    for i in range(3):
        for j in range(4):
            g = [mlp_by_hand(decoded[j][i].tolist(), xi, activation) for xi in x.tolist()]
            l[i][j] = sum((gk - fk) ** 2 for gk, fk in zip(g, f[i])) / len(g)
    min_loss = sum(min(row) for row in l) / 3
    pnorm = {p: sum(sum(v**p for v in row) ** (1 / p) for row in l) / 3 for p in (1.0, 0.5, 2.0)}
    # swao.method.losses
    y = target_outputs(padded, depth, x, activation)
    assert torch.allclose(y, torch.tensor(f), rtol=1e-5, atol=1e-5)
    got_l = decoder_losses(decoded, y, x, activation)
    assert torch.allclose(got_l, torch.tensor(l), rtol=1e-4, atol=1e-6)
    got, _ = autoencoder_loss(decoded, y, x, activation, "min")
    assert math.isclose(float(got), min_loss, rel_tol=1e-4, abs_tol=1e-6)
    for p, want in pnorm.items():
        got, _ = autoencoder_loss(decoded, y, x, activation, "pnorm", p)
        assert math.isclose(float(got), want, rel_tol=1e-4, abs_tol=1e-6), p


def test_combine_and_its_gradients():
    l = torch.tensor([[1.0, 4.0, 0.25, 9.0], [2.0, 2.0, 2.0, 2.0]], dtype=torch.float64, requires_grad=True)
    assert combine(l, "min").tolist() == [0.25, 2.0]
    assert torch.allclose(combine(l, "pnorm", 1), l.sum(1))
    assert torch.allclose(combine(l, "pnorm", 0.5), l.sqrt().sum(1) ** 2)
    combine(l, "min").sum().backward()  # the gradient goes to the best decoder only
    assert l.grad.tolist()[0] == [0, 0, 1, 0]
    assert torch.autograd.gradcheck(lambda t: combine(t, "pnorm", 0.5), (l.detach().requires_grad_(),))


def test_loss_compares_functions_not_weights():
    padded, depth = random_mlps(4, "sigmoid", seed=2, depth=2)
    x = torch.rand(50, 3) * 2 - 1
    y = target_outputs(padded, depth, x, "sigmoid")
    m = padded[:, :, :17].clone()
    # permuting the hidden neurons of layer 1 changes the weights but not the function
    perm = torch.tensor([3, 1, 0, 2, 6, 5, 4])
    m2 = m.clone()
    m2[:, :, :7] = m[:, :, :7][:, :, perm]  # columns of B_1
    m2[:, :, 7:14] = m[:, :, 7:14][:, perm, :]  # rows of B_2
    m2[:, :, 15] = m[:, :, 15][:, perm]  # mask of layer 1
    decoded = [m2] * 4
    l = decoder_losses(decoded, y, x, "sigmoid")
    assert l.abs().max() < 1e-8


def test_bad_parameters():
    with pytest.raises(ValueError, match="loss must be one of"):
        check_loss("max")
    for p in (0, -1, float("nan"), float("inf"), None, True, "1"):
        with pytest.raises(ValueError, match="p > 0"):
            check_loss("pnorm", p)
    with pytest.raises(ValueError, match="only used"):
        check_loss("min", 0.5)
    assert check_loss("pnorm", 1) == 1.0
    with pytest.raises(ValueError, match="activation"):
        decoder_losses([torch.zeros(1, 7, 9)], torch.zeros(1, 5), torch.zeros(5, 3), "relu")


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "linear"])
def test_feature_major_evaluation_matches_swao_forward(activation):
    padded, depth = random_mlps(40, activation, seed=4)
    x = torch.rand(30, 3) * 2 - 1
    want = forward_batch(padded, depth, x, activation)
    assert torch.allclose(target_outputs(padded, depth, x, activation), want, rtol=1e-5, atol=1e-5)
    order = torch.argsort(depth, stable=True)
    counts = tuple(int((depth == L).sum()) for L in (1, 2, 3, 4))
    got = target_outputs(padded[order], depth[order], x, activation, counts)
    assert torch.allclose(got, want[order], rtol=1e-5, atol=1e-5)
    for L in (1, 2, 3, 4):  # also on unmasked random matrices, with gradients
        m = (torch.randn(5, H, 8 * L + 1) * 2).requires_grad_()
        m2 = m.detach().clone().requires_grad_()
        a, b = forward_points_last(m, points_last(x), activation), forward(m2, x, activation)
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)
        a.sum().backward(), b.sum().backward()
        assert torch.allclose(m.grad, m2.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "linear"])
def test_cuda_loss_matches_cpu(activation):
    from swao.method.generation import input_grid
    from swao.training.config import cuda_tf32

    padded, depth = random_mlps(64, activation, seed=8)
    order = torch.argsort(depth, stable=True)
    padded, depth = padded[order], depth[order]
    counts = tuple(int((depth == L).sum()) for L in (1, 2, 3, 4))
    x = input_grid()
    decoded = [random_mlps(64, activation, seed=9, depth=j)[0][:, :, : 8 * j + 1] for j in (1, 2, 3, 4)]  # "decodings"
    y = target_outputs(padded, depth, x, activation, counts)
    want, l_want = autoencoder_loss(decoded, y, x, activation, "pnorm", 0.5)
    gpu = dict(padded=padded.cuda(), depth=depth.cuda(), x=x.cuda(), decoded=[d.cuda() for d in decoded])
    with cuda_tf32("cuda", False):  # strict float32: as the training step evaluates MLPs
        y_gpu = target_outputs(gpu["padded"], gpu["depth"], gpu["x"], activation, counts)
        got, l_got = autoencoder_loss(gpu["decoded"], y_gpu, gpu["x"], activation, "pnorm", 0.5)
    assert y_gpu.is_cuda and torch.allclose(y_gpu.cpu(), y, rtol=1e-4, atol=1e-4)
    assert torch.allclose(l_got.cpu(), l_want, rtol=1e-3, atol=1e-5)
    assert torch.allclose(got.cpu(), want, rtol=1e-3)
    # bf16 decodings (the network under autocast) are evaluated in float32
    got_bf16, l_bf16 = autoencoder_loss([d.bfloat16() for d in gpu["decoded"]], y_gpu, gpu["x"], activation)
    assert got_bf16.dtype == l_bf16.dtype == torch.float32 and torch.isfinite(l_bf16).all()
