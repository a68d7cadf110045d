"""The appendix's generator: depths, widths, exact link counts, paths, weight ranges."""
import pytest
import torch

from swao.method.forward import forward
from swao.method.generation import (
    SPARSITIES,
    TARGET_NONZEROS,
    input_grid,
    random_mlps,
    target_dataset,
    target_mlp,
)
from helpers import n_links
from swao.method.representation import INPUT_ROWS, apply_masks, nonzero_count, split_matrix, unpad_matrix


def reaches_output(m):
    """Breadth-first: which inputs reach the output through non-zero links (reference check)."""
    blocks, out, masks = split_matrix(m)
    reached = []
    for row in INPUT_ROWS:
        frontier = {row}
        for l in range(blocks.shape[0]):
            frontier = {j for i in frontier for j in range(7) if blocks[l, i, j] != 0 and masks[l, j] == 1}
        reached.append(any(out[i] != 0 for i in frontier))
    return reached


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "linear"])
def test_generator_guarantees(activation):
    padded, depth, sparsity = random_mlps(400, activation, seed=7, return_sparsity=True)
    assert set(depth.tolist()) == {1, 2, 3, 4}
    assert set(sparsity.tolist()) <= set(SPARSITIES) and len(set(sparsity.tolist())) == 4
    for i in range(len(depth)):
        m = unpad_matrix(padded[i], depth[i])
        blocks, out, masks = split_matrix(m)
        widths = masks.sum(-1).int().tolist()
        assert all(3 <= w <= 7 for w in widths)
        # active neurons are the first w slots
        for l, w in enumerate(widths):
            assert masks[l, :w].eq(1).all() and masks[l, w:].eq(0).all()
        # inactive neurons (and non-input rows of B_1) carry no weight
        assert torch.equal(apply_masks(m), m)
        total = n_links(widths)
        target = round(total * (1 - float(sparsity[i])))
        count = int(nonzero_count(m))
        path_max = 3 * (len(widths) + 1)
        assert count == target or (target < count <= path_max), (count, target)
        assert all(reaches_output(m))
        w = m[:, : 7 * len(widths) + 1]
        assert w.abs().max() <= {"sigmoid": 10.0, "leaky_relu": 3.0, "linear": 3.0}[activation]  # Section 4.1


def test_exact_counts_when_the_path_fits():
    padded, depth, sparsity = random_mlps(300, "sigmoid", seed=2, return_sparsity=True)
    exact = 0
    for i in range(len(depth)):
        m = unpad_matrix(padded[i], depth[i])
        widths = split_matrix(m)[2].sum(-1).int().tolist()
        target = round(n_links(widths) * (1 - float(sparsity[i])))
        if target >= 3 * (len(widths) + 1):
            assert int(nonzero_count(m)) == target
            exact += 1
    assert exact > 100


def test_seeded_and_reproducible():
    a = random_mlps(50, "linear", seed=11)
    b = random_mlps(50, "linear", seed=11)
    c = random_mlps(50, "linear", seed=12)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert random_mlps(20, "linear", seed=0, depth=3)[1].eq(3).all()


def test_grid():
    x = input_grid()
    assert x.shape == (1000, 3)
    assert torch.allclose(torch.unique(x[:, 0]), torch.linspace(-1, 1, 10))


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_target_mlps_and_datasets(depth):
    m = target_mlp(depth, "leaky_relu", seed=5)
    assert int(nonzero_count(m)) == TARGET_NONZEROS[depth]
    assert split_matrix(m)[2].sum(-1).tolist() == [5.0] * depth
    assert all(reaches_output(m))
    data = target_dataset(depth, "leaky_relu", seed=5, n_points=1000)
    assert data["x_train"].shape == (500, 3) and data["x_valid"].shape == (300, 3) and data["x_test"].shape == (200, 3)
    assert data["x_train"].abs().max() <= 1
    assert torch.allclose(data["y_test"], forward(m, data["x_test"], "leaky_relu"))


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        random_mlps(3, "relu", seed=0)
    with pytest.raises(ValueError, match="n must"):
        random_mlps(0, "sigmoid", seed=0)
    with pytest.raises(ValueError, match="seed"):
        random_mlps(3, "sigmoid", seed=-1)
    with pytest.raises(ValueError, match="depth"):
        target_mlp(1, "sigmoid", seed=0)
    with pytest.raises(ValueError, match="depth"):
        random_mlps(3, "sigmoid", seed=0, depth=5)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_fixed_depth_fast_path_is_the_general_path(depth):
    # random_mlps(depth=L) skips the per-depth boolean selections (host syncs on CUDA) through
    # sparse_mlps(uniform_depth=L): the result must be the general path's, bit for bit
    from swao.method.generation import generator, sparse_mlps

    d = torch.full((30,), depth)
    widths = torch.randint(3, 8, (30, 4), generator=generator(1))
    links = torch.randint(5, 40, (30,), generator=generator(2))
    a = sparse_mlps(d, widths, links, 10.0, generator(3))
    b = sparse_mlps(d, widths, links, 10.0, generator(3), uniform_depth=depth)
    assert a.dtype == b.dtype and a.is_contiguous() and b.is_contiguous() and torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_generation_on_device():
    # generated on the GPU from a CUDA generator (other random streams than the CPU's, same law)
    for depth in (None, 1, 4):
        padded, d, s = random_mlps(200, "sigmoid", seed=3, depth=depth, device="cuda", return_sparsity=True)
        assert padded.is_cuda and d.is_cuda and s.is_cuda and padded.shape == (200, 7, 33)
        again, _ = random_mlps(200, "sigmoid", seed=3, depth=depth, device="cuda")
        assert torch.equal(padded, again)  # seeded: the same MLPs every time
        assert set(s.cpu().tolist()) <= set(SPARSITIES) and padded.abs().max() <= 10.0
        for L in (1, 2, 3, 4):
            m = padded[d == L][:, :, : 8 * L + 1].cpu()
            if len(m):
                assert torch.equal(apply_masks(m), m)  # no weight on an inactive neuron
                assert all(all(reaches_output(x)) for x in m[:20])  # every input reaches the output
