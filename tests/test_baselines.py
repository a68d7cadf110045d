"""Baselines: direct sparse training and dense training + magnitude pruning (issue 4)."""
import torch
from torch import nn

from swao.ours.baselines import dense_then_prune, direct_sparse, full_matrix, init_weights, prune_mask
from swao.method.representation import H, nonzero_count
from swao.ours.table2 import table2_datasets
from swao.method.settings import SearchBudget


def datasets(activation="sigmoid", n=600):
    return list(table2_datasets(activation, n, seed=0).values())


def count(seq):
    return sum(int((m.weight != 0).sum()) for m in seq if isinstance(m, nn.Linear))


def test_full_matrix_has_every_neuron_and_only_input_rows():
    m = full_matrix(init_weights(2, 3, torch.Generator().manual_seed(0)))
    assert m.shape == (2, H, 25) and (m[..., -3:] == 1).all()
    assert (m[:, [0, 1, 5, 6], :H] == 0).all()
    assert nonzero_count(m).tolist() == [3 * 7 + 7 * 7 * 2 + 7] * 2


def test_prune_mask_keeps_the_largest():
    m = full_matrix(init_weights(3, 2, torch.Generator().manual_seed(1)))
    keep = torch.tensor([0, 5, 1000])
    mask = prune_mask(m, keep)
    assert mask.sum((1, 2)).tolist() == [0, 5, nonzero_count(m)[2]]
    for layer in (slice(0, 7), slice(7, 14), slice(14, 15)):  # every layer keeps its largest weights
        w, k = m[1, :, layer].abs(), mask[1, :, layer]
        assert k.sum() >= 1 and w[k == 1].min() >= w[(k == 0) & (w > 0)].max()
    assert mask[1, :, 14].sum() >= 1  # the output layer survives


def test_direct_sparse_smoke():
    data = datasets()
    r = direct_sparse(data, "sigmoid", SearchBudget(30, restarts=2, seed=0, eval_every=5))
    assert r.test_mpe.shape == (4, 3, 2) and torch.isfinite(r.test_mpe).all()
    mse = r.trajectory["mse"]
    assert (mse[..., -1] < mse[..., 0]).float().mean() > 0.8
    assert ((r.threshold >= 0) & (r.threshold <= 3)).all()
    for i, L in enumerate(r.depths):
        seq = r.sequential(1, L)
        assert count(seq) == int(r.nonzeros[i, 1, r.best_restart()[i, 1]])
        with torch.no_grad():
            assert torch.allclose(seq(data[1]["x_test"]).squeeze(-1), r.test_pred[i][1, r.best_restart()[i, 1]], atol=1e-5)


def test_dense_then_prune_smoke():
    data = datasets("leaky_relu")
    targets = torch.tensor([[3, 8, 12], [5, 10, 20], [6, 14, 30], [7, 15, 40]])
    r = dense_then_prune(data, "leaky_relu", SearchBudget(30, restarts=2, seed=0, eval_every=5), targets)
    assert torch.isfinite(r.test_mpe).all()
    assert (r.nonzeros <= targets[..., None]).all()
    assert (r.nonzeros >= targets[..., None] - 1).all()  # a kept weight can only be 0 by accident
    nz = r.trajectory["nonzeros"]
    assert (nz == nz[..., :1]).all()  # the mask stays fixed while fine-tuning
    assert (r.best_step >= 15).all()
    seq = r.sequential(2, 4, 1)
    assert count(seq) == int(r.nonzeros[3, 2, 1])


# ---------------------------------------------------------------- L0 gates (Louizos et al. 2018)
def test_l0_constants_are_the_papers():
    from swao.ours import baselines

    assert baselines.L0_STRETCH == (-0.1, 1.1) and baselines.L0_TEMPERATURE == 2 / 3


def test_hard_concrete_gates_by_formula():
    import math

    from swao.ours.baselines import expected_l0, hard_concrete_gate, hard_concrete_sample

    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    la = torch.tensor([[-8.0, -1.0, 0.0], [0.7, 2.0, 9.0]], dtype=torch.float64)
    u = torch.tensor([[0.3, 0.5, 0.9], [0.01, 0.5, 0.99]], dtype=torch.float64)
    for a, b, g, s in zip(la.flatten().tolist(), u.flatten().tolist(), hard_concrete_gate(la).flatten().tolist(),
                          hard_concrete_sample(la, u).flatten().tolist()):
        assert abs(g - min(1.0, max(0.0, sig(a) * 1.2 - 0.1))) < 1e-12  # test time: no noise
        want = min(1.0, max(0.0, sig((math.log(b) - math.log(1 - b) + a) / (2 / 3)) * 1.2 - 0.1))
        assert abs(s - want) < 1e-12
    assert hard_concrete_gate(torch.tensor([-8.0, 9.0])).tolist() == [0.0, 1.0]  # exactly closed / open
    counted = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    want = sum(sig(a - (2 / 3) * math.log(0.1 / 1.1)) for a, c in zip(la.flatten().tolist(), counted.flatten().tolist()) if c)
    assert abs(float(expected_l0(la, counted)) - want) < 1e-12


def test_gate_slots_are_the_usable_weights():
    from swao.ours.baselines import gate_slots

    assert [int(gate_slots(L).sum()) for L in (1, 2, 3, 4)] == [3 * 7 + 7, 21 + 49 + 7, 21 + 98 + 7, 21 + 147 + 7]


def test_l0_gates_report_the_deterministic_gates_and_a_stronger_penalty_is_sparser():
    from swao.ours.baselines import l0_gates
    from swao.method.forward import forward
    from swao.method.metrics import mpe

    data = datasets()
    out = l0_gates(data, "sigmoid", SearchBudget(60, restarts=2, depths=(1, 3), seed=0, eval_every=10), (0.01, 30.0))
    assert list(out) == [0.01, 30.0]
    weak, strong = out[0.01], out[30.0]
    assert weak.test_mpe.shape == (2, 3, 2) and torch.isfinite(weak.test_mpe).all()
    assert strong.nonzeros.sum() < weak.nonzeros.sum()
    for r in (weak, strong):  # each cell's numbers are those of exactly its reported matrix
        for i, L in enumerate(r.depths):
            m = r.matrices[i]
            assert (nonzero_count(m) == r.nonzeros[i]).all()
            pred = forward(m.flatten(0, 1), torch.stack([d["x_test"] for d in data]).repeat_interleave(2, 0), "sigmoid")
            assert torch.allclose(mpe(pred, torch.stack([d["y_test"] for d in data]).repeat_interleave(2, 0)),
                                  r.test_mpe[i].flatten(), atol=1e-4)


def test_l0_gates_refuses_bad_strengths():
    import pytest

    from swao.ours.baselines import l0_gates

    for bad in ((), (0.0,), (-1.0,), (float("nan"),)):
        with pytest.raises(ValueError, match="strengths"):
            l0_gates(datasets(), "sigmoid", SearchBudget(2), bad)


def test_l0_choice_takes_the_strength_nearest_the_searchs_count():
    from swao.ours.baselines import l0_gates
    from swao.ours.table2 import SWEEP_FIELDS, l0_choice

    data = datasets()[:2]
    sweep = l0_gates(data, "sigmoid", SearchBudget(40, restarts=1, depths=(2,), seed=1, eval_every=10), (0.01, 1.0, 30.0))
    counts = {s: [int(r.nonzeros[0, d, 0]) for d in range(2)] for s, r in sweep.items()}
    for target in (0, 5, 20, 200):
        searched = {name: {"D2": {"nonzeros": target}} for name in ("a", "b")}
        out = l0_choice(sweep, ["a", "b"], searched)
        for d, name in enumerate(("a", "b")):
            cell = out["l0"][name]["D2"]
            want = min(counts, key=lambda s: (abs(counts[s][d] - target), -s))
            assert cell["strength"] == want and cell["nonzeros"] == counts[want][d]
    assert set(out["l0_sweep"]) == {"0.01", "1", "30"}
    assert set(out["l0_sweep"]["1"]["a"]["D2"]) == set(SWEEP_FIELDS)


# ---------------------------------------------------------------- what the mutation run showed missing
def test_init_weights_span_plus_minus_one_over_sqrt_fan_in_and_follow_the_seed():
    import math

    w = init_weights(4000, 2, torch.Generator().manual_seed(3))
    first, rest = w[..., :H].abs(), w[..., H:].abs()  # the first layer sees 3 inputs, the others 7 neurons
    assert first.max() <= 1 / math.sqrt(3) and first.max() > 0.99 / math.sqrt(3)
    assert rest.max() <= 1 / math.sqrt(7) and rest.max() > 0.99 / math.sqrt(7)
    assert abs(float(w[..., :H].mean())) < 0.01 and (w < 0).float().mean().sub(0.5).abs() < 0.01  # centred on 0
    assert torch.equal(w, init_weights(4000, 2, torch.Generator().manual_seed(3)))
    assert not torch.equal(w, init_weights(4000, 2, torch.Generator().manual_seed(4)))


def test_prune_mask_of_a_batch_is_the_prune_mask_of_each():
    m = full_matrix(init_weights(3, 2, torch.Generator().manual_seed(1)))
    m = m * torch.tensor([1.0, 100.0, 0.01])[:, None, None]  # very different scales per MLP
    keep = torch.tensor([4, 9, 20])
    batch = prune_mask(m, keep)
    for i in range(3):
        assert torch.equal(batch[i], prune_mask(m[i : i + 1], keep[i : i + 1])[0])


def test_sample_gates_follow_the_hard_concrete_distribution_and_the_generator():
    import math

    from swao.ours.baselines import sample_gates

    la = torch.zeros(200_000, dtype=torch.float64)
    g = sample_gates(la, torch.Generator().manual_seed(0))
    # P(gate = 0) = P(s < 1/12) = sigmoid(beta logit(1/12) - log_alpha), and P(gate = 1) the same at log_alpha 0
    p0 = 1 / (1 + math.exp(-(2 / 3) * math.log((1 / 12) / (11 / 12))))
    assert abs(float((g == 0).double().mean()) - p0) < 0.005 and abs(float((g == 1).double().mean()) - p0) < 0.005
    assert abs(float(g.mean()) - 0.5) < 0.005  # symmetric about 1/2 at log_alpha 0
    assert torch.equal(g, sample_gates(la, torch.Generator().manual_seed(0)))
    torch.manual_seed(123)  # the global generator is not used
    assert torch.equal(g, sample_gates(la, torch.Generator().manual_seed(0)))


def test_l0_gates_start_half_open_and_log_the_penalised_loss():
    import math

    from swao.ours.baselines import l0_gates

    data = datasets()[:2]
    s = (0.5, 4.0)
    start = l0_gates(data, "sigmoid", SearchBudget(0, restarts=1, depths=(1, 2), seed=5), s)
    gen = torch.Generator().manual_seed(5)
    for i, L in enumerate((1, 2)):  # the weights the run drew, each times its gate at log_alpha = 0: 0.5
        w = init_weights(len(s) * 2, L, gen)
        want = full_matrix(0.5 * w).reshape(len(s), 2, H, -1)
        for k, st in enumerate(s):
            assert torch.allclose(start[st].matrices[i][:, 0], want[k])
    p_open = 1 / (1 + math.exp((2 / 3) * math.log(0.1 / 1.1)))  # each gate's expected openness at log_alpha 0
    run = l0_gates(data, "sigmoid", SearchBudget(30, restarts=1, depths=(2,), seed=5, eval_every=10), s)
    for st, r in run.items():
        loss, mse = r.trajectory["loss"][..., 0], r.trajectory["mse"][..., 0]
        assert torch.allclose(loss, mse * (1 + st * p_open), rtol=1e-5)  # lambda = s x MSE_0 / gates, E[L0] / gates
        assert r.trajectory["step"].tolist() == [0, 10, 20, 30]
        assert (r.trajectory["mse"][..., -1] < r.trajectory["mse"][..., 0]).all()  # the weights learn
        y = torch.stack([d["y_train"] for d in data])
        assert not torch.allclose(r.trajectory["mse"][0, :, 0, 0], y.square().mean(-1))  # not the zero MLP's error
    torch.manual_seed(99)  # the gates' noise comes from the run's own generators, not the global one
    again = l0_gates(data, "sigmoid", SearchBudget(30, restarts=1, depths=(2,), seed=5, eval_every=10), s)
    assert all(torch.equal(run[st].matrices[0], again[st].matrices[0]) for st in s)


def test_every_strengths_result_is_whole():
    from swao.ours.baselines import l0_gates
    from swao.method.optimise import N_FRAMES

    data = datasets()
    out = l0_gates(data, "sigmoid", SearchBudget(20, restarts=2, depths=(1, 2), seed=0, eval_every=5), (0.1, 1.0))
    for r in out.values():
        assert r.activation == "sigmoid" and r.depths == (1, 2) and r.seconds > 0
        for name in ("test_mpe", "nonzeros", "val_loss", "best_step", "threshold", "lam", "dead_start", "dead_end"):
            assert getattr(r, name).shape == (2, 3, 2), name
        assert all(p.shape == (3, 2, data[0]["y_test"].numel()) for p in r.test_pred)
        assert all(v.shape[:3] == (2, 3, 2) for k, v in r.trajectory.items() if k != "step")
        assert len(r.frames) == N_FRAMES and all(f.shape[0] == 6 for _, fs in r.frames for f in fs)
        assert (r.lam > 0).all()
        cells = r.summary(["a", "b", "c"])
        assert cells["c"]["D2"]["dead_start_all"] == [bool(v) for v in r.dead_start[1, 2]]


def test_the_baselines_use_the_papers_threshold_clamp_and_penalty_only(monkeypatch):
    """Direct sparse training optimises the paper's objective: eq. 6 over every weight and the
    [0, 3] clamp alone (none of the search's options of ours)."""
    import swao.ours.baselines as baselines

    seen = []
    real = baselines.optimise
    monkeypatch.setattr(baselines, "optimise", lambda problem, *a: seen.append(problem) or real(problem, *a))
    direct_sparse(datasets()[:1], "sigmoid", SearchBudget(2, depths=(1,)))
    assert [(p.sparse, p.penalty, p.keep_layers) for p in seen] == [(True, "all", False)]


def test_dense_then_prune_trains_plain_mse_in_both_phases():
    data = datasets()[:1]
    b = dense_then_prune(data, "sigmoid", SearchBudget(20, restarts=1, depths=(1, 2), seed=0, eval_every=5), torch.tensor([[5], [9]]))
    assert (b.threshold == 0).all() and (b.lam == 0).all()  # no threshold, no penalty: the paper's objective is not used
    assert torch.equal(b.trajectory["loss"], b.trajectory["mse"])
    assert b.nonzeros[:, 0, 0].tolist() == [5, 9]
    assert b.trajectory["step"].tolist() == [0, 5, 10] and (b.best_step >= 10).all() and (b.best_step <= 20).all()


def test_dense_then_prune_without_learning_is_the_pruned_start():
    data = datasets()[:1]
    for targets in (torch.tensor([[6], [11]]), torch.tensor([[28], [77]])):  # a few weights; every usable one
        b = dense_then_prune(data, "sigmoid", SearchBudget(10, restarts=1, depths=(1, 2), seed=4), targets, lr=0.0)
        gen = torch.Generator().manual_seed(4)
        for i, L in enumerate((1, 2)):  # no switch, no threshold: exactly the start, pruned
            start = full_matrix(init_weights(1, L, gen))  # the start _start draws, depth by depth
            keep = prune_mask(start, targets[i])
            want = full_matrix(start[..., : keep.shape[-1]] * keep)
            assert torch.equal(b.matrices[i][0, 0], want[0])
