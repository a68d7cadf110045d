"""The MLP matrix's permutation symmetry (swao.method.symmetry): a permuted MLP computes the same
function, and every member of an orbit gets the same canonical matrix, which computes the
function of the original."""
import pytest
import torch

from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward, forward_batch
from swao.method.generation import generator, input_grid, random_mlps
from swao.method.representation import DEPTHS, H, join_matrix, split_matrix, unpad_matrix
from swao.method.symmetry import canonical_batch, canonical_order, neuron_order, permute_layer


def random_permutation(matrix: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``matrix`` with every hidden layer's neurons shuffled (a random member of its orbit)."""
    blocks, out, masks = split_matrix(matrix)
    for layer in range(blocks.shape[-3]):
        order = torch.stack([torch.randperm(H, generator=gen) for _ in range(matrix.shape[0])])
        blocks, out, masks = permute_layer(blocks, out, masks, layer, order)
    return join_matrix(blocks, out, masks)


def mlps(activation: str, depth: int, n: int = 64, seed: int = 0) -> torch.Tensor:
    padded, _ = random_mlps(n, activation, seed=seed, depth=depth)
    return unpad_matrix(padded, depth)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_a_permuted_mlp_computes_the_same_function_and_has_the_same_canonical_matrix(activation, depth):
    m = mlps(activation, depth)
    x = input_grid()
    gen = generator(depth)
    for _ in range(3):
        p = random_permutation(m, gen)
        assert not torch.equal(p, m) or depth == 0
        torch.testing.assert_close(forward(p, x, activation), forward(m, x, activation), rtol=1e-5, atol=1e-5)
        # exact: the key reads the same numbers in the same canonical row order; what ties on it
        # (mask, incoming weights, sorted outgoing weights) is identical in the matrix too here
        assert torch.equal(canonical_order(p), canonical_order(m))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_canonical_matrix_computes_the_original_function_and_is_a_fixed_point(activation):
    padded, depth = random_mlps(256, activation, seed=3)
    c = canonical_batch(padded, depth)
    x = input_grid()
    torch.testing.assert_close(forward_batch(c, depth, x, activation), forward_batch(padded, depth, x, activation),
                               rtol=1e-5, atol=1e-5)
    assert torch.equal(canonical_batch(c, depth), c)
    # only the first 8L+1 columns of each MLP change
    for L in DEPTHS:
        rows = depth == L
        assert torch.equal(c[rows, :, 8 * L + 1 :], padded[rows, :, 8 * L + 1 :])


def test_the_order_puts_active_neurons_first_then_the_larger_incoming_weights():
    incoming = torch.zeros(1, H, H)
    incoming[0, 2, :] = torch.tensor([0.5, -3.0, 1.0, 2.0, 0.0, 0.0, -0.5])  # neuron k's weight from input row 2
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]])
    order = neuron_order(incoming, mask, torch.zeros(1, H, 1))[0].tolist()
    # active by |w| descending: 1 (3.0), 2 (1.0), then 0 (0.5) and 6 (-0.5) tie on the norm and
    # are ordered by the weight itself (-0.5 first), then 4 (0.0); inactive: 3 (2.0), then 5
    assert order == [1, 2, 6, 0, 4, 3, 5]


def test_canonical_batch_refuses_a_bad_batch():
    with pytest.raises(ValueError, match="padded must have shape"):
        canonical_batch(torch.zeros(2, H, 9), torch.ones(2, dtype=torch.long))


def test_neurons_with_the_same_incoming_weights_are_ordered_by_their_outgoing_weights():
    incoming = torch.zeros(1, H, H)  # every neuron unconnected from the inputs (a sparse MLP's case)
    mask = torch.ones(1, H)
    outgoing = torch.zeros(1, H, 2)
    outgoing[0, 3] = torch.tensor([0.0, -2.0])  # sorted: (-2, 0)
    outgoing[0, 5] = torch.tensor([1.0, 0.0])  # sorted: (0, 1)
    order = neuron_order(incoming, mask, outgoing)[0].tolist()
    assert order.index(3) < order.index(0) < order.index(5)  # (-2, 0) < (0, 0) < (0, 1)


def test_with_canonical_input_a_permuted_mlp_gets_the_same_embedding_and_without_it_does_not():
    from swao.method.model import MultiScaleAutoencoder

    padded, depth = random_mlps(32, "sigmoid", seed=5)
    gen = generator(9)
    shuffled = padded.clone()
    for L in DEPTHS:
        rows = depth == L
        shuffled[rows, :, : 8 * L + 1] = random_permutation(unpad_matrix(padded[rows], L), gen)
    torch.manual_seed(0)
    canonical = MultiScaleAutoencoder(width=0.25, encoder_input="canonical").eval()
    torch.manual_seed(0)
    as_drawn = MultiScaleAutoencoder(width=0.25).eval()
    with torch.no_grad():
        assert torch.equal(canonical.encode(shuffled, depth), canonical.encode(padded, depth))
        assert not torch.allclose(as_drawn.encode(shuffled, depth), as_drawn.encode(padded, depth))
    with pytest.raises(ValueError, match="encoder_input must be one of"):
        MultiScaleAutoencoder(encoder_input="sorted")
