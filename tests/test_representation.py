"""Eq. 1: matrix <-> weights <-> nn.Sequential, masks, non-zero counts."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import stack_matrices
from swao.method.representation import (
    H,
    INPUT_ROWS,
    apply_masks,
    build_matrix,
    depth_of,
    from_sequential,
    join_matrix,
    matrix_to_weights,
    matrix_width,
    nonzero_count,
    split_matrix,
    to_sequential,
    unpad_matrix,
)


# weights: exact zeros, the generators' range edges (+-10 sigmoid-based, +-3 the others), tiny
# values and anything in between; widths from the smallest (1) to H; hypothesis shrinks them
WEIGHT = st.one_of(st.sampled_from([0.0, -0.0, 10.0, -10.0, 3.0, -3.0, 1e-30, -1e-30]),
                   st.floats(-10, 10, allow_nan=False, allow_infinity=False))


@st.composite
def mlp_weights(draw):
    depth = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, H), min_size=depth, max_size=depth))
    sizes = [3, *widths, 1]
    return [torch.tensor(draw(st.lists(WEIGHT, min_size=a * b, max_size=a * b)), dtype=torch.float64).view(b, a)
            for a, b in zip(sizes[:-1], sizes[1:])]


def reference_matrix(weights):
    """Eq. 1 written out element by element, as a check on the vectorised build."""
    L = len(weights) - 1
    M = torch.zeros(H, matrix_width(L), dtype=torch.float64)
    src = list(INPUT_ROWS)
    for l in range(L):
        W = weights[l]
        for j in range(W.shape[0]):
            M[j, H * L + 1 + l] = 1.0
            for i, row in enumerate(src):
                M[row, H * l + j] = W[j, i]
        src = list(range(W.shape[0]))
    for i, row in enumerate(src):
        M[row, H * L] = weights[L][0, i]
    return M


def reference_mlp(weights, x, hidden, out):
    h = x
    for W in weights[:-1]:
        h = hidden(h @ W.T)
    return out(h @ weights[-1].T).squeeze(-1)


def test_widths_are_the_papers():
    assert [matrix_width(L) for L in (1, 2, 3, 4)] == [9, 17, 25, 33]


@settings(max_examples=40, deadline=None)
@given(mlp_weights())
def test_build_matches_reference_and_round_trips(weights):
    M = build_matrix(weights)
    assert torch.equal(M, reference_matrix(weights))
    assert depth_of(M) == len(weights) - 1
    back = matrix_to_weights(M)
    assert [tuple(w.shape) for w in back] == [tuple(w.shape) for w in weights]
    for a, b in zip(back, weights):
        assert torch.equal(a, b)
    assert torch.equal(join_matrix(*split_matrix(M)), M)


@settings(max_examples=30, deadline=None)
@given(mlp_weights(), st.sampled_from(["sigmoid", "leaky_relu", "linear"]))
def test_sequential_round_trip_and_function(weights, activation):
    M = build_matrix(weights)
    seq = to_sequential(M, activation)
    assert isinstance(seq, nn.Sequential)
    M2, act2 = from_sequential(seq)
    assert act2 == activation and torch.equal(M2, M)
    hidden, out = {
        "sigmoid": (torch.sigmoid, lambda v: v),
        "leaky_relu": (lambda v: torch.nn.functional.leaky_relu(v, 0.1), torch.sigmoid),
        "linear": (lambda v: v, torch.sigmoid),
    }[activation]
    x = torch.rand(50, 3, dtype=torch.float64) * 2 - 1
    assert torch.allclose(seq(x).squeeze(-1), reference_mlp(weights, x, hidden, out), atol=1e-12)


def test_masks_zero_inactive_neurons_and_non_input_rows():
    M = torch.randn(H, matrix_width(2))
    M[:, -2:] = 0
    M[[0, 3], -2] = 1  # layer 1: neurons 0 and 3 active
    M[[1], -1] = 1  # layer 2: neuron 1 active
    masked = apply_masks(M)
    blocks, out, masks = split_matrix(masked)
    # B_1: only input rows, only columns 0 and 3
    keep1 = torch.zeros(H, H, dtype=torch.bool)
    keep1[2:5, 0] = keep1[2:5, 3] = True
    assert torch.equal(blocks[0] != 0, keep1 & (split_matrix(M)[0][0] != 0))
    # B_2: rows 0 and 3 (active sources) x column 1
    keep2 = torch.zeros(H, H, dtype=torch.bool)
    keep2[[0, 3], 1] = True
    assert torch.equal(blocks[1] != 0, keep2 & (split_matrix(M)[0][1] != 0))
    assert torch.equal(out != 0, torch.tensor([0, 1, 0, 0, 0, 0, 0], dtype=torch.bool) & (split_matrix(M)[1] != 0))
    assert torch.equal(masks, split_matrix(M)[2])


def test_nonzero_count_counts_active_links_above_threshold():
    w = [torch.tensor([[1.0, 0.0, -0.2], [0.0, 3.0, 0.0]]), torch.tensor([[0.5, -2.0]])]
    M = build_matrix(w)
    assert nonzero_count(M).item() == 5
    assert nonzero_count(M, 0.4).item() == 4
    assert nonzero_count(M, 1.5).item() == 2
    batch = torch.stack([M, M])
    assert nonzero_count(batch, torch.tensor([0.0, 1.5])).tolist() == [5, 2]
    # a weight on an inactive neuron does not count
    M2 = M.clone()
    M2[0, 5] = 9.0  # B_1, row 0 (not an input row)
    M2[2, 4] = 9.0  # B_1 column 4: neuron 4 of layer 1 is inactive
    assert nonzero_count(M2).item() == 5


def test_stack_and_unpad():
    ms = [build_matrix([torch.randn(3, 3)] * 1 + [torch.randn(1, 3)]), build_matrix([torch.randn(4, 3), torch.randn(2, 4), torch.randn(1, 2)])]
    padded, depth = stack_matrices(ms)
    assert padded.shape == (2, H, 33) and depth.tolist() == [1, 2]
    for m, p, d in zip(ms, padded, depth):
        assert torch.equal(unpad_matrix(p, d), m)


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(6, 9), "shape"),
        (torch.zeros(7, 10), "shape"),
        (torch.zeros(7, 41), "depth"),
        (torch.full((7, 9), float("nan")), "NaN"),
        (torch.zeros(7, 9, dtype=torch.long), "float"),
    ],
)
def test_bad_matrices_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        to_sequential(bad, "sigmoid")


def test_bad_weights_and_activation_are_refused():
    with pytest.raises(ValueError, match="shape"):
        build_matrix([torch.zeros(3, 2), torch.zeros(1, 3)])
    with pytest.raises(ValueError, match="out <= 7"):
        build_matrix([torch.zeros(8, 3), torch.zeros(1, 8)])
    with pytest.raises(ValueError, match="depth"):
        build_matrix([torch.zeros(3, 3)] + [torch.zeros(3, 3)] * 4 + [torch.zeros(1, 3)])
    with pytest.raises(ValueError, match="NaN"):
        build_matrix([torch.full((3, 3), float("inf")), torch.zeros(1, 3)])
    with pytest.raises(ValueError, match="activation"):
        to_sequential(build_matrix([torch.ones(3, 3), torch.ones(1, 3)]), "relu")
    with pytest.raises(ValueError, match="bias"):
        from_sequential(nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Identity()))
    with pytest.raises(ValueError, match="activations"):
        from_sequential(nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False), nn.Identity()))


# ---------------------------------------------------------------- what the mutation run showed missing
def test_build_matrix_checks_and_keeps_its_inputs_kind():
    w1, w2, out = torch.ones(2, 3, dtype=torch.float64), torch.ones(3, 2), torch.ones(1, 3)
    assert build_matrix([w1, w2, out]).dtype == torch.float64  # the first layer's float dtype
    assert build_matrix([torch.ones(2, 3, dtype=torch.int64), torch.ones(1, 2, dtype=torch.int64)]).dtype == torch.float32
    assert build_matrix([torch.ones(2, 3, dtype=torch.int64), torch.ones(1, 2)]).dtype == torch.float32
    with pytest.raises(ValueError, match=r"weights must be a list \[W_1, ..., W_L, w_out\]"):
        build_matrix([w1])
    with pytest.raises(ValueError, match=r"weights\[2\] must have shape \(out, 3\) with out <= 7 \(1 for the output"):
        build_matrix([w1, w2, torch.ones(2, 3)])  # an output layer of 2 rows
    empty = build_matrix([torch.ones(2, 3), torch.ones(0, 2), torch.ones(1, 0)])  # a hidden layer with no neuron
    assert empty.shape == (H, matrix_width(2)) and empty[:, -1].sum() == 0 and nonzero_count(empty) == 6


def test_dead_layer_and_layer_floor_on_batches_of_batches():
    from swao.method.representation import dead_layer
    from swao.method.sparsity import layer_floor

    g = torch.Generator().manual_seed(0)
    m = torch.randn(2, 3, H, matrix_width(3), generator=g) + 0.1
    m[..., -3:] = 1.0
    m[0, 1, :, -3] = 0.0  # layer 1 off: B_1 and B_2 pass nothing, the output weights survive
    m[1, 2, :, 3 * H] = 0.0  # the output cut
    m = apply_masks(m)
    assert dead_layer(m).tolist() == [[False, True, False], [False, False, True]]
    for a in range(2):
        for b in range(3):
            blocks, out, _ = split_matrix(m[a, b])
            want = min([float(blocks[l].abs().max()) for l in range(3)] + [float(out.abs().max())])
            assert float(layer_floor(m)[a, b]) == want and float(layer_floor(m[a, b])) == want


def test_from_sequential_refuses_mixed_hidden_activations_and_batches_check_their_inputs():
    from swao.method.representation import check_batch

    mixed = nn.Sequential(nn.Linear(3, 2, bias=False), nn.Sigmoid(), nn.Linear(2, 2, bias=False), nn.Identity(),
                          nn.Linear(2, 1, bias=False), nn.Identity())
    with pytest.raises(ValueError, match="activations must be"):
        from_sequential(mixed)
    one = build_matrix([torch.ones(2, 3), torch.ones(1, 2)])
    padded, depth = stack_matrices([one])
    assert padded.shape == (1, H, 33) and depth.tolist() == [1]
    with pytest.raises(ValueError, match="matrices must not be empty"):
        stack_matrices([])
    with pytest.raises(ValueError, match=r"padded must have shape \(N, 7, 33\), got list"):
        check_batch([[0.0]], depth)
    with pytest.raises(ValueError, match="depth values must lie in"):
        check_batch(padded, torch.tensor([0]))


def test_forward_casts_the_inputs_to_the_matrixs_dtype():
    from swao.method.forward import forward, forward_batch
    from swao.method.losses import target_outputs

    m = build_matrix([torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), torch.ones(1, 4)]).double()
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1
    want = forward(m, x.double(), "sigmoid")
    assert forward(m, x, "sigmoid").dtype == torch.float64 and torch.equal(forward(m, x, "sigmoid"), want)
    padded, depth = stack_matrices([m])
    assert torch.equal(forward_batch(padded, depth, x, "sigmoid")[0], forward_batch(padded, depth, x.double(), "sigmoid")[0])
    assert torch.equal(target_outputs(padded, depth, x, "sigmoid"), target_outputs(padded, depth, x.double(), "sigmoid"))
