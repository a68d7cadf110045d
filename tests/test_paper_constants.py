"""The paper's method, pinned by its own numbers and checked by formula.

Every constant is asserted against the paper's number written here, never against the module's
name for it (a test comparing ``lambda`` with ``first_mse / LAMBDA_DIVISOR`` passes whatever the
divisor is). The search is checked step by step against eq. 4-6 written out again below, its
threshold against a reference Adam, its reported state against the argmin of the validation
losses, and Tables 1/3 against a by-hand loop: encoder e -> decoder j -> forward -> eq. 7.
"""
import numpy as np
import pytest
import torch

from swao.method.forward import forward
from swao.method.generation import SPLIT, generator, input_grid, random_mlps, target_dataset
from swao.method.representation import DEPTHS, H, apply_masks, matrix_width, unpad_matrix
from swao.method.search import search
from swao.method.settings import SearchBudget

ACT = "sigmoid"  # identity output: the MSE is plain in the decoded weights


class Recorder(torch.nn.Module):
    """A stand-in decoder ``z -> masked matrices`` (fixed linear maps, float64) that keeps every
    ``z`` it is called with and every matrix it returns, in call order."""

    def __init__(self, seed=0, dim=128):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = torch.nn.ParameterList(torch.nn.Parameter(torch.randn(dim, H * matrix_width(j), generator=g, dtype=torch.float64) * 0.15,
                                                           requires_grad=False) for j in DEPTHS)
        self.z, self.out = [], []

    def decode_depth(self, z, j):
        raw = (z @ self.w[j - 1]).view(-1, H, matrix_width(j))
        m = apply_masks(torch.cat([raw[..., :-j], (raw[..., -j:] > -1.0).to(raw.dtype)], -1))
        self.z.append(z.detach().clone())
        self.out.append(m.detach().clone())
        return m


def dataset(n=200, seed=0, target=None):
    """Inputs U(-1, 1)^3 split 5:3:2 (float64); targets from ``target(x)`` (default: a fixed MLP)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1
    if target is None:
        m = Recorder(seed + 100).decode_depth(torch.rand(1, 128, generator=g, dtype=torch.float64), 2)[0]
        target = lambda x: forward(m, x, ACT)  # noqa: E731
    y = target(x).detach()
    a, b = n // 2, n // 2 + 3 * n // 10
    return {"x_train": x[:a], "y_train": y[:a], "x_valid": x[a:b], "y_valid": y[a:b], "x_test": x[b:], "y_test": y[b:]}


# ------------------------------------------------------------------ eq. 4-6, written out again
def weights(m, L):
    return m[..., : 7 * L + 1]  # B_1..B_L (7 columns each) and b_out, before the switch


def switched(m, L, t):
    w = weights(m, L)
    return torch.cat([w * torch.sigmoid(100 * (w.abs() - t)), m[..., 7 * L + 1:]], -1)  # eq. 5


def exported(m, L, t):
    w = weights(m, L)
    return torch.cat([torch.where(w.abs() > t, w * torch.sigmoid(100 * (w.abs() - t)), 0.0), m[..., 7 * L + 1:]], -1)


def penalty(m, L, t):
    a = weights(m, L).abs()
    return (0.5 * torch.sigmoid(10 * (a - t)) + 0.1 * a).sum()  # eq. 6 without lambda


def mse(m, x, y):
    return (forward(m, x, ACT) - y).square().mean()


# ------------------------------------------------------------------ constants
def test_the_representation_constants():
    assert H == 7
    assert [matrix_width(L) for L in (1, 2, 3, 4)] == [9, 17, 25, 33]  # 7 x (8L + 1)
    grid = input_grid()
    assert grid.shape == (1000, 3)
    for d in range(3):
        assert torch.allclose(grid[:, d].unique(), torch.linspace(-1, 1, 10))


def test_the_search_datasets_split_5_3_2():
    assert tuple(SPLIT) == pytest.approx((0.5, 0.3, 0.2))
    data = target_dataset(2, ACT, seed=0, n_points=1000)
    assert [data[f"x_{s}"].shape[0] for s in ("train", "valid", "test")] == [500, 300, 200]


def test_the_soft_switch_and_penalty_coefficients():
    from swao.method.sparsity import soft_switch, sparsity_penalty

    w = torch.tensor([[[0.0, 0.02, -0.05, 0.3, -1.0]]], dtype=torch.float64)
    t = torch.tensor([0.04], dtype=torch.float64)
    assert torch.allclose(soft_switch(w, t), w * torch.sigmoid(100 * (w.abs() - 0.04)))
    assert torch.allclose(sparsity_penalty(w, t), (0.5 * torch.sigmoid(10 * (w.abs() - 0.04)) + 0.1 * w.abs()).sum().reshape(1))


# ------------------------------------------------------------------ the search, step by step
STEPS = 12


@pytest.fixture(scope="module")
def traced():
    rec = Recorder()
    data = [dataset()]
    z0 = torch.rand(1, 1, 1, 128, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    r = search(rec, data, ACT, SearchBudget(STEPS, restarts=1, depths=(2,), eval_every=1), z0=z0, workers=1)
    return rec, data[0], z0, r


def test_every_logged_loss_is_eq_4_plus_lambda_times_eq_6(traced):
    rec, d, _, r = traced
    assert len(rec.out) == STEPS + 2  # one decode before the loop, then one per step 0..STEPS
    traj = {k: v[0, 0, 0] for k, v in r.trajectory.items() if k != "step"}
    lam = mse(switched(rec.out[1][0], 2, 0.0), d["x_train"], d["y_train"]) / 7000  # t = 0 at the first step
    assert float(r.lam[0, 0, 0]) == pytest.approx(float(lam), rel=1e-6)
    for k in range(STEPS + 1):
        m, t = rec.out[k + 1][0], float(traj["t"][k])
        loss = mse(switched(m, 2, t), d["x_train"], d["y_train"]) + lam * penalty(m, 2, t)
        assert float(traj["loss"][k]) == pytest.approx(float(loss), rel=1e-5), f"step {k}"
        val = mse(exported(m, 2, t), d["x_valid"], d["y_valid"]) + lam * penalty(m, 2, t)  # with the penalty
        assert float(traj["val_loss"][k]) == pytest.approx(float(val), rel=1e-5), f"step {k}"


def test_t_moves_as_adam_with_lr_0_01_and_z_as_adam_with_lr_0_1(traced):
    rec, d, z0, r = traced
    t_log = r.trajectory["t"][0, 0, 0]
    lam = mse(switched(rec.out[1][0], 2, 0.0), d["x_train"], d["y_train"]) / 7000
    t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([t], lr=0.01)
    for k in range(STEPS):
        assert float(t_log[k]) == pytest.approx(float(t.detach()), abs=1e-6), f"step {k}"
        m = rec.out[k + 1][0]
        opt.zero_grad()
        (mse(switched(m, 2, t), d["x_train"], d["y_train"]) + lam * penalty(m, 2, t)).backward()
        opt.step()
        with torch.no_grad():
            t.clamp_(0.0, 3.0)
    assert float(t_log[1]) == pytest.approx(0.01, rel=1e-4)  # Adam's first step is lr x sign(gradient)
    dz = (rec.z[2] - z0.reshape(1, 128)).abs()  # z after the first update
    assert float(dz.max()) == pytest.approx(0.1, rel=1e-4) and float(dz.max()) <= 0.1 + 1e-9


def test_t_is_clamped_at_exactly_3():
    """B_2's weights spread over |w| in (0, 4], B_1 and the output column zero: the output is 0
    whatever t is (the MSE does not move t), while eq. 6's count term always gains from a larger
    t, so Adam drives t up (at most lr = 0.01 per step) into the clamp, reached near step 700."""
    base = torch.zeros(1, H, matrix_width(2))
    base[0, :, 7:14] = torch.linspace(0.05, 4.0, H * H).view(H, H)  # B_2
    base[0, :, 15:] = 1.0  # every neuron active
    decode = lambda z, j: base.expand(z.shape[0], -1, -1) + 0 * z.sum()  # noqa: E731  (z does not matter)
    data = [dataset(n=40, target=lambda x: torch.ones(x.shape[0], dtype=torch.float64))]
    r = search(decode, data, ACT, SearchBudget(900, restarts=1, depths=(2,), seed=0, eval_every=1), workers=1)
    t = r.trajectory["t"][0, 0, 0]
    assert float(t.diff().max()) <= 0.01 + 1e-6 and float(t.diff().min()) >= 0.0, "up, by at most lr per step"
    assert float(t.max()) == 3.0 and float(t[-1]) == 3.0, "t reaches the clamp and stays at exactly 3"
    assert float(t.min()) >= 0.0


def test_the_reported_state_is_the_argmin_of_the_validation_losses():
    """A scripted validation set that disagrees with training: its targets are restart 2's
    starting MLP, so validation is best for restart 2 at its start, while training pulls every
    restart toward another MLP. The reported step, matrix, threshold and restart are the argmins."""
    rec = Recorder(seed=3)
    z0 = torch.rand(1, 1, 3, 128, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    with torch.no_grad():
        start2 = exported(rec.decode_depth(z0[0, 0, 2:], 2)[0], 2, 0.0)
    rec.z.clear(), rec.out.clear()
    d = dataset(seed=5)
    d["y_valid"] = forward(start2, d["x_valid"], ACT)
    steps = 30
    r = search(rec, [d], ACT, SearchBudget(steps, restarts=3, depths=(2,), eval_every=1), z0=z0, workers=1)
    val, train = r.trajectory["val_loss"][0, 0], r.trajectory["loss"][0, 0]  # (restart, step 0..steps)
    assert float(train[2, -1]) < float(train[2, 0]), "training moves restart 2 away from its start"
    best_step = val.argmin(-1)
    assert torch.equal(r.best_step[0, 0], best_step)
    assert int(best_step[2]) < steps, "the best validation state is not the last one"
    assert int(r.best_restart()[0, 0]) == int(val.min(-1).values.argmin()) == 2
    for q in range(3):
        k = int(best_step[q])
        t = float(r.trajectory["t"][0, 0, q, k])
        assert float(r.threshold[0, 0, q]) == pytest.approx(t, abs=1e-7)
        assert float(r.val_loss[0, 0, q]) == pytest.approx(float(val[q].min()), rel=1e-6)
        raw = rec.out[k + 1][q]  # the decode of step k, restart q
        assert torch.allclose(r.matrices[0][0, q].double(), exported(raw, 2, t), atol=1e-6)


# ------------------------------------------------------------------ Tables 1/3 by hand
class StandInAutoencoder(torch.nn.Module):
    """``(padded, depth) -> 4 matrices``: decoder j's MLP is a fixed depth-j MLP, scaled by the
    input's depth and shifted by its weights, so every (encoder, decoder) cell differs."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.base = torch.nn.ParameterList(
            torch.nn.Parameter(apply_masks(torch.cat([torch.randn(H, 8 * j + 1 - j, generator=g), torch.ones(H, j)], -1)), requires_grad=False)
            for j in DEPTHS)

    def forward(self, padded, depth):
        scale = (1 + 0.3 * depth.to(padded.dtype))[:, None, None]
        shift = 0.01 * padded.flatten(1).sum(1)[:, None, None]
        return [apply_masks(torch.cat([(b[:, :-j] * scale + shift), b[:, -j:].expand(len(padded), -1, -1)], -1))
                for j, b in zip(DEPTHS, self.base)]


def test_tables_1_and_3_by_hand():
    """table[j][e]: the mean over test MLPs of depth e+1 of eq. 7 for decoder j+1, computed
    here one MLP at a time: encoder e -> decoder j -> forward -> median_x |y_hat - y| / |y| x 100."""
    from swao.training.evaluation import evaluate_mpe

    model = StandInAutoencoder()  # (an untrained autoencoder decodes ~0 everywhere: 100 % in every cell)
    n, seed = 3, 5
    table = evaluate_mpe(model, ACT, n, seed=seed)
    x = input_grid()
    gen = generator(seed)  # the test MLPs: n of each depth 1..4, drawn in that order
    for e, L in enumerate((1, 2, 3, 4)):
        padded, depth = random_mlps(n, ACT, gen=gen, depth=L)
        with torch.no_grad():
            decoded = model(padded, depth)
        for j in range(4):
            per_mlp = []
            for i in range(n):
                y = forward(unpad_matrix(padded[i], depth[i]), x, ACT).numpy().astype(np.float64)
                y_hat = forward(decoded[j][i], x, ACT).numpy().astype(np.float64)
                per_mlp.append(np.median(np.abs(y_hat - y) / np.abs(y)) * 100)
            assert table[j][e] == pytest.approx(np.mean(per_mlp), rel=1e-4), f"D{j + 1}, E{e + 1}"
    cells = [v for row in table for v in row]
    assert len({round(v, 3) for v in cells}) == 16, "every cell differs: a swap of encoder and decoder would show"
