"""The multi-scale autoencoder: shapes, the multiplexer, masks, batch independence."""
import pytest
import torch

from swao.method.generation import random_mlps
from swao.method.model import MASK_GRADS, MultiScaleAutoencoder, n_parameters, neuron_masks
from swao.method.representation import DEPTHS, H, INPUT_ROWS, apply_masks, matrix_width, split_matrix


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MultiScaleAutoencoder().eval()


@pytest.fixture(scope="module")
def batch():
    return random_mlps(12, "sigmoid", seed=5)


def test_size_and_init(model):
    assert 10.5e6 < n_parameters(model) < 11.5e6  # the issue's ~11 M
    assert len(model.encoders) == len(model.decoders) == 4
    convs = [m for m in model.encoders[0].modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 7  # "each encoder is composed of 7 convolutional layers"
    # 4 FC layers each way; the first (last) one is split into one block per encoder (decoder)
    linears = [m for m in model.fc_in if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [256, 256, 128]
    assert sum(m.in_features for m in model.mux) == 6144 and model.mux[0].out_features == 512
    assert [m.out_features for m in model.fc_out if isinstance(m, torch.nn.Linear)] == [256, 256, 512]
    assert sum(m.out_features for m in model.demux) == 6144
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            bound = (6 / (m.in_features + m.out_features)) ** 0.5  # Xavier-uniform, zero bias
            assert m.weight.abs().max() <= bound and (m.bias is None or not m.bias.any())


@pytest.mark.parametrize("depth", DEPTHS)
def test_shapes_for_every_depth(model, depth):
    padded, d = random_mlps(3, "sigmoid", seed=depth, depth=depth)
    with torch.no_grad():
        z = model.encode(padded, d)
        out = model.decode(z)
    assert z.shape == (3, 128)
    assert [tuple(o.shape) for o in out] == [(3, H, matrix_width(j)) for j in DEPTHS]
    for j in DEPTHS:
        assert torch.equal(model.decode_depth(z, j), out[j - 1])


def test_mixed_batch_forward_and_counts_path(model, batch):
    padded, depth = batch
    order = torch.argsort(depth, stable=True)
    p, d = padded[order], depth[order]
    counts = tuple(int((d == L).sum()) for L in DEPTHS)
    with torch.no_grad():
        a = model.encode(p, d)
        b = model.encode(p, d, counts=counts)
        outs = model(p, d)
    assert torch.allclose(a, b, atol=1e-6)
    assert len(outs) == 4 and outs[3].shape == (12, H, 33)


def test_embedding_does_not_depend_on_the_batch(model, batch):
    padded, depth = batch
    with torch.no_grad():
        z = model.encode(padded, depth)
        for i in range(len(depth)):
            alone = model.encode(padded[i : i + 1], depth[i : i + 1])
            assert torch.allclose(alone[0], z[i], atol=1e-5, rtol=1e-5)


def test_multiplexer_other_encoders_contribute_zeros(batch):
    torch.manual_seed(1)
    model = MultiScaleAutoencoder().eval()
    padded, depth = batch
    with torch.no_grad():
        z = model.encode(padded, depth)
        # the reference path materialises the zeros of the other encoders
        feats = model.encoder_features(padded, depth)
        for i, L in enumerate(depth.tolist()):
            off, size = model.offsets[L - 1], model.sizes[L - 1]
            assert not feats[i, :off].any() and not feats[i, off + size :].any()
        ref = model.fc_in(torch.nn.functional.leaky_relu(model.first_fc(feats), 0.01))
        assert torch.allclose(ref, z, atol=1e-5)
        # changing encoder E_k changes only the embeddings of depth-k MLPs
        for p in model.encoders[1].parameters():
            p.add_(0.1)
        z2 = model.encode(padded, depth)
    assert torch.allclose(z2[depth != 2], z[depth != 2], atol=1e-6)
    assert not torch.allclose(z2[depth == 2], z[depth == 2])


def test_masks_zero_rows_and_columns(model):
    torch.manual_seed(3)
    z = torch.randn(64, 128) * 3
    with torch.no_grad():
        out = model.decode(z)
    for j, m in zip(DEPTHS, out):
        blocks, b_out, masks = split_matrix(m)
        assert set(masks.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(apply_masks(m), m)  # already masked
        rows = [r for r in range(H) if r not in INPUT_ROWS]
        assert not blocks[:, 0, rows, :].any()  # non-input rows of B_1
        for l in range(j):
            off = masks[:, l] == 0  # (N, H) inactive neurons of layer l
            assert not (blocks[:, l].transpose(1, 2)[off]).any()  # incoming weights (columns of B_l)
            outgoing = blocks[:, l + 1] if l + 1 < j else b_out.unsqueeze(-1)
            assert not outgoing[off].any()  # outgoing weights (rows of B_{l+1} / b_out)


def test_neuron_masks_and_their_gradient():
    logits = torch.tensor([-2.0, -0.1, 0.0, 0.1, 3.0], requires_grad=True)
    for mode in MASK_GRADS:
        m = neuron_masks(logits, mode)
        assert m.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # sigmoid > 0.5
    neuron_masks(logits, "straight_through").sum().backward()
    s = torch.sigmoid(logits.detach())
    assert torch.allclose(logits.grad, s * (1 - s))
    assert not neuron_masks(logits, "none").requires_grad


@pytest.mark.parametrize("mode", MASK_GRADS)
def test_mask_logits_receive_gradient_only_with_straight_through(mode, batch):
    torch.manual_seed(2)
    model = MultiScaleAutoencoder(mask_grad=mode)
    padded, depth = batch
    head = model.decoders[1].head[-1]  # last layer of D_2's FC head; its last 2 columns are masks
    out = model(padded, depth)
    out[1].square().sum().backward()
    rows = head.weight.grad.view(H, matrix_width(2), -1)[:, -2:]
    assert rows.abs().sum() > 0 if mode == "straight_through" else not rows.any()


def test_bad_parameters():
    with pytest.raises(ValueError, match="mask_grad"):
        MultiScaleAutoencoder(mask_grad="soft")
    model = MultiScaleAutoencoder()
    with pytest.raises(ValueError, match="padded"):
        model.encode(torch.zeros(2, 7, 9), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="z must"):
        model.decode(torch.zeros(2, 64))
    with pytest.raises(ValueError, match="depth"):
        model.decode_depth(torch.zeros(2, 128), 5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_bf16_autocast_runs(batch):
    torch.manual_seed(0)
    cpu = MultiScaleAutoencoder().eval()
    gpu = MultiScaleAutoencoder().eval().cuda()
    gpu.load_state_dict(cpu.state_dict())
    padded, depth = batch
    with torch.no_grad():
        z_cpu, z_gpu = cpu.encode(padded, depth), gpu.encode(padded.cuda(), depth.cuda())
        assert torch.allclose(z_cpu, z_gpu.cpu(), atol=1e-3, rtol=1e-3)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = gpu(padded.cuda(), depth.cuda())
    assert [o.shape[-1] for o in out] == [9, 17, 25, 33] and all(torch.isfinite(o).all() for o in out)


def test_encode_of_an_unsorted_batch_under_autocast_keeps_one_dtype(model, batch, monkeypatch):
    # CUDA autocast does not promote index_copy (CPU autocast does): the unsorted path must
    # scatter bf16 parts into a bf16 buffer. Emulate CUDA's strictness on the CPU.
    real = torch.Tensor.index_copy

    def strict(self, dim, index, source):
        assert self.dtype == source.dtype, (self.dtype, source.dtype)
        return real(self, dim, index, source)

    monkeypatch.setattr(torch.Tensor, "index_copy", strict)
    padded, depth = batch
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        z = model.encode(padded, depth)
        order = torch.argsort(depth, stable=True)
        counts = tuple(int((depth == L).sum()) for L in DEPTHS)
        z_sorted = model.encode(padded[order], depth[order], counts)
    # the same rows, but matmuls over another row grouping: bf16 results agree to rounding, and to
    # the last bit only on some CPU code paths (exact equality failed under ATEN_CPU_CAPABILITY=default)
    assert z.dtype == z_sorted.dtype
    assert torch.allclose(z[order].float(), z_sorted.float(), rtol=1e-2, atol=1e-3)
    with torch.no_grad():
        assert model.encode(padded, depth).dtype == torch.float32  # fp32 outside autocast


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_autocast_training_pass(batch):
    # forward (sorted and unsorted batches) and backward under CUDA bf16 autocast: fp32
    # parameters get fp32 gradients, no GradScaler needed (bf16 has fp32's exponent range)
    torch.manual_seed(0)
    gpu = MultiScaleAutoencoder().cuda()
    padded, depth = (t.cuda() for t in batch)
    order = torch.argsort(depth, stable=True)
    counts = tuple(int((depth == L).sum()) for L in DEPTHS)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = gpu(padded[order], depth[order], counts)
        out2 = gpu(padded, depth)
        z_sorted, z = gpu.encode(padded[order], depth[order], counts), gpu.encode(padded, depth)
    assert all(o.dtype == torch.bfloat16 for o in out) and [o.shape for o in out] == [o.shape for o in out2]
    assert torch.allclose(z_sorted[order.argsort()].float(), z.float(), atol=2e-2, rtol=2e-2)
    sum(o.float().square().mean() for o in out).backward()
    grads = [p.grad for p in gpu.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and g.is_cuda and torch.isfinite(g).all() for g in grads)
