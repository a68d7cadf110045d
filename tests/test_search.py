"""The embedding search (eq. 4-6): objective, batching, export, CSV input, CLI, devices (CPU, meta, CUDA)."""
import copy
import json
import traceback
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from swao.method.activations import ACTIVATIONS
from swao.method.forward import forward, forward_points_last
from swao.method.metrics import NEAR_CONSTANT, is_near_constant, mpe
from swao.method.representation import H, apply_masks, matrix_width
from swao.ours.csv_dataset import load_csv
from swao.method.optimise import LAMBDA_DIVISOR, T_MAX
from swao.method.search import search
from swao.method.sparsity import export_matrix, soft_switch, sparsity_penalty
from swao.render import tables
from swao.cli.search import cli_main, result_tables
from swao.ours.table2 import run_search, table2_datasets
from swao.training.config import get_config
from swao.method.settings import SearchBudget, SearchOptions


class StandIn(nn.Module):
    """A tiny deterministic stand-in decoder: z -> masked matrices by fixed linear maps."""

    def __init__(self, dim=128, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.ParameterList(nn.Parameter(torch.randn(dim, H * matrix_width(j), generator=g) * 0.15) for j in (1, 2, 3, 4))

    def decode_depth(self, z, j):
        raw = (z @ self.w[j - 1]).view(-1, H, matrix_width(j))
        masks = (raw[..., -j:] > -1.0).to(raw.dtype)  # hard 0/1 masks, mostly active
        return apply_masks(torch.cat([raw[..., :-j], masks], -1))


def decoded_dataset(decoder, depth, activation, n=1000, seed=0):
    """A dataset produced by the MLP the decoder makes of some z*."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        dtype = decoder.w[0].dtype
        m = decoder.decode_depth(torch.rand(1, 128, generator=g, dtype=dtype), depth)[0]
        x = torch.rand(n, 3, generator=g, dtype=dtype) * 2 - 1
        y = forward(m, x, activation)
    a, b = n // 2, n // 2 + 3 * n // 10
    return {"x_train": x[:a], "y_train": y[:a], "x_valid": x[a:b], "y_valid": y[a:b], "x_test": x[b:], "y_test": y[b:]}


def test_switch_and_penalty_values():
    w = torch.tensor([[[0.0, 0.5, -2.0]]])
    t = torch.tensor([0.5])
    assert torch.allclose(soft_switch(w, t), w * torch.sigmoid(100 * (w.abs() - 0.5)))
    expected = (0.5 * torch.sigmoid(10 * (w.abs() - 0.5)) + 0.1 * w.abs()).sum()
    assert torch.allclose(sparsity_penalty(w, t), expected.reshape(1))
    m = torch.cat([torch.linspace(-1, 1, H * 8).view(1, H, 8), torch.ones(1, H, 1)], -1)
    e = export_matrix(m, t)
    assert (e[..., 8] == 1).all()  # masks untouched
    keep = m[..., :8].abs() > 0.5
    assert (e[..., :8][~keep] == 0).all()  # |w| <= t is exactly 0
    assert torch.equal(e[..., :8][keep], soft_switch(m[..., :8], t)[keep])


def test_penalty_and_switch_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(0)
    w = (torch.randn(3, H, 8, generator=g, dtype=torch.float64) * 0.3).requires_grad_(True)
    t = torch.tensor([0.05, 0.2, 0.4], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(sparsity_penalty, (w, t))
    assert torch.autograd.gradcheck(soft_switch, (w, t))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fast_kernel_matches_forward(activation):
    g = torch.Generator().manual_seed(1)
    for L in (1, 2, 3, 4):
        m = torch.randn(5, H, matrix_width(L), generator=g)
        m[..., -L:] = (m[..., -L:] > 0).float()
        m = apply_masks(m)
        x = torch.rand(5, 50, 3, generator=g) * 2 - 1
        assert torch.allclose(forward_points_last(m, x.transpose(1, 2), activation, masked=False), forward(m, x, activation), atol=1e-5)


@pytest.fixture(scope="module")
def small_search():
    dec = StandIn()
    data = [decoded_dataset(dec, 2, "sigmoid", seed=s) for s in (1, 2)]
    return dec, data, search(dec, data, "sigmoid", SearchBudget(40, restarts=2, depths=(1, 2, 3), seed=3, eval_every=5))


def test_search_drives_mse_down():
    dec = StandIn()
    data = [decoded_dataset(dec, 2, "sigmoid", seed=5)]
    r = search(dec, data, "sigmoid", SearchBudget(150, restarts=1, depths=(2,), seed=0, eval_every=10))
    mse = r.trajectory["mse"][0, 0, 0]
    assert mse[-1] < 0.2 * mse[0], mse
    assert r.test_mpe[0, 0, 0] < 20


def test_lambda_and_threshold_per_triple(small_search):
    _, _, r = small_search
    first_mse = r.trajectory["mse"][..., 0]
    assert torch.allclose(r.lam, first_mse / LAMBDA_DIVISOR)
    assert r.lam.unique().numel() == r.lam.numel()  # each triple its own lambda
    assert ((r.threshold >= 0) & (r.threshold <= T_MAX)).all()
    assert r.trajectory["t"].std() > 0


def test_reported_mlp_is_the_exported_sequential(small_search):
    _, data, r = small_search
    for i, L in enumerate(r.depths):
        for d in range(2):
            for q in range(2):
                seq = r.sequential(d, L, q)
                weights = [m.weight for m in seq if isinstance(m, nn.Linear)]
                assert sum(int((w != 0).sum()) for w in weights) == int(r.nonzeros[i, d, q])
                assert len(weights) == L + 1
                with torch.no_grad():
                    pred = seq(data[d]["x_test"]).squeeze(-1)
                assert torch.allclose(pred, r.test_pred[i][d, q], atol=1e-5)
                assert torch.isclose(mpe(pred, data[d]["y_test"]), r.test_mpe[i, d, q], rtol=1e-4, atol=1e-4)
    assert r.nonzeros.float().mean() > 0


def test_batched_equals_separate():
    """One triple alone == the same triple inside a batch (float64: equal up to rounding)."""
    dec = StandIn().double()
    data = [decoded_dataset(dec, 2, "leaky_relu", n=400, seed=s) for s in (1, 2)]
    z0 = torch.rand(3, 2, 2, 128, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    batch = search(dec, data, "leaky_relu", SearchBudget(40, restarts=2, depths=(1, 2, 3), eval_every=5), z0=z0)
    alone = search(dec, [data[1]], "leaky_relu", SearchBudget(40, restarts=1, depths=(3,), eval_every=5), z0=z0[2:, 1:, 1:])
    assert torch.allclose(alone.matrices[0][0, 0], batch.matrices[2][1, 1], atol=1e-9)
    for k in ("val_loss", "threshold", "lam", "test_mpe", "nonzeros", "best_step"):
        assert torch.allclose(getattr(alone, k)[0, 0, 0].double(), getattr(batch, k)[2, 1, 1].double(), atol=1e-9), k
    for k in ("loss", "t", "nonzeros"):
        assert torch.allclose(alone.trajectory[k][0, 0, 0], batch.trajectory[k][2, 1, 1], atol=1e-6), k
    assert batch.trajectory["t"][2, 1, 1, -1] > 0


def test_collapse_is_read_from_the_exported_mlps_own_test_predictions(small_search):
    _, data, r = small_search
    for i in range(len(r.depths)):
        for d in range(2):
            y = data[d]["y_test"]
            expected = r.test_pred[i][d].std(-1) < NEAR_CONSTANT * y.std(-1)
            assert torch.equal(r.collapsed[i, d], expected)
    s = r.summary(["a", "b"])["a"]["D2"]
    assert s["collapsed"] == s["collapsed_all"][s["best_restart"]] and all(isinstance(v, bool) for v in s["collapsed_all"])


def test_near_constant_is_judged_against_the_targets_spread():
    y = torch.linspace(-1, 1, 100)[None].repeat(3, 1)
    pred = torch.stack([torch.full((100,), 0.3), 0.04 * y[0] + 0.3, 0.06 * y[0]])
    assert is_near_constant(pred, y).tolist() == [True, True, False]


def test_summary_is_json_and_spread(small_search):
    _, _, r = small_search
    s = r.summary(["a", "b"])
    json.dumps(s, allow_nan=False)
    c = s["b"]["D3"]
    assert c["mpe"] == c["mpe_all"][c["best_restart"]] and len(c["trajectories"]) == 2
    assert c["mpe_mean"] == pytest.approx(sum(c["mpe_all"]) / 2)


def test_real_autoencoder_smoke_and_table():
    from swao.method.model import MultiScaleAutoencoder

    torch.manual_seed(0)
    config = get_config("smoke", search_points=200, search_steps=4, restarts=2)
    data = {"linear": {k: v for k, v in table2_datasets("linear", 200).items() if k != "4hl"}}
    res = run_search({"linear": MultiScaleAutoencoder()}, data, config, "cpu", progress=False, baselines=True)
    json.dumps(res, allow_nan=False)
    t2, versus, spread = result_tables(res, {"scale": "smoke"}, baselines=True)
    assert t2.header == ["MLP type", "decoder", "ours 2 HL (14)", "paper 2 HL (14)", "ours 3 HL (35)", "paper 3 HL (35)"]
    assert [r[1] for r in t2.rows] == ["D1", "D2", "D3", "D4"]
    d2 = res["types"]["linear"]["search"]["3hl"]["D2"]  # ours, then the paper's Table 2 cell (linear, D2, 3 HL)
    assert t2.rows[1][4:6] == [f"{tables.fmt(d2['mpe'])} ({d2['nonzeros']}){tables.COLLAPSED if d2['collapsed'] else ''}", "0.01 (12)"]
    assert versus.header[2:5] == ["embedding search", "direct sparse", "dense + prune"] and len(versus.rows) == 2
    assert len(spread.rows) == 4
    cell = res["types"]["linear"]["search"]["3hl"]["D2"]
    assert len(cell["mpe_all"]) == 2 and len(cell["trajectories"][0]["step"]) == 5


def test_methods_apart_equal_the_run_together():
    """Table 2's four methods, each run on its own (the baselines in another order than
    run_search's, as a run split over several sittings would), give the cells and the seconds'
    keys of one run_search, bit for bit: each method seeds itself, and the pruning targets read
    from the search's cells are the search result's own."""
    from swao.method.model import MultiScaleAutoencoder
    from swao.ours.table2 import METHODS, Comparison

    torch.manual_seed(0)
    model = MultiScaleAutoencoder()
    config = get_config("smoke", search_points=200, search_steps=4, restarts=2)
    data = {k: v for k, v in table2_datasets("sigmoid", 200).items() if k != "4hl"}
    whole = run_search({"sigmoid": model}, {"sigmoid": data}, config, "cpu", progress=False)["types"]["sigmoid"]
    comparison = Comparison.of(config, progress=False)
    searched = comparison.run("search", model, "sigmoid", data)["cells"]["search"]
    apart = {"search": searched}
    for method in ("l0", "direct", "pruned"):
        apart.update(comparison.run(method, model, "sigmoid", data, searched)["cells"])
    strip = lambda cells: json.loads(json.dumps(cells))  # noqa: E731  (tuples and lists alike)
    assert set(whole) - {"seconds"} == set(apart) and list(whole["seconds"]) == list(METHODS)
    for key in apart:
        assert strip(apart[key]) == strip(whole[key]), key
    with pytest.raises(ValueError, match="needs the search's cells"):
        comparison.run("pruned", model, "sigmoid", data)
    with pytest.raises(ValueError, match="method must be one of"):
        comparison.run("prune", model, "sigmoid", data)


# ---------------------------------------------------------------- CSV input and CLI
def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def rows(n, start=0):
    return "".join(f"{0.1 * i},{0.2},{-0.3},{i}\n" for i in range(start, start + n))


def test_csv_ok_with_and_without_header(tmp_path):
    a = load_csv(write(tmp_path, "x1,x2,x3,y\n" + rows(20)))
    b = load_csv(write(tmp_path, rows(20), "e.csv"))
    assert a["x_train"].shape == (10, 3) and a["x_valid"].shape == (6, 3) and a["y_test"].shape == (4,)
    assert torch.equal(a["y_train"], b["y_train"])


@pytest.mark.parametrize("text, message", [
    (rows(5) + "1,2,3\n" + rows(10), r"row 6: expected 4 columns \(3 inputs, 1 output\), got 3"),
    (rows(12) + "1,2,3,4,5\n", r"row 13: expected 4 columns"),
    (rows(3) + "1,abc,3,4\n" + rows(10), r"row 4, column 2: 'abc' is not a number"),
    (rows(7) + "1,2,nan,4\n" + rows(10), r"row 8: NaN or Inf"),
    (rows(2) + "1,2,3,inf\n" + rows(10), r"row 3: NaN or Inf"),
    ("x1,x2,x3,y\n" + rows(9), r"too few rows: 9"),
    ("", r"too few rows: 0"),
    ("".join(f"{i},1,2,5\n" for i in range(12)), r"d.csv: the output column \(column 4\) is constant \(5.0 on all 12 rows\)"),
])
def test_csv_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text))


def test_cli_csv_error_and_run(tmp_path, capsys):
    bad = write(tmp_path, rows(3) + "1,2\n" + rows(10))
    assert cli_main(["--untrained", "--activation", "sigmoid", "--dataset", str(bad)]) == 2
    assert "row 4: expected 4 columns" in capsys.readouterr().err
    good = write(tmp_path, "a,b,c,y\n" + rows(40), "good.csv")
    out = tmp_path / "out"
    assert cli_main(["--untrained", "--activation", "sigmoid", "--dataset", str(good), "--scale", "smoke",
                     "--steps", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "freshly initialised" in printed and "good" in printed
    res = json.loads((out / "results.json").read_text())
    assert set(res["types"]["sigmoid"]["search"]["good"]) == {"D1", "D2", "D3", "D4"}
    from swao.ours.export import load_mlp

    seq = load_mlp(out / "mlps" / "sigmoid-good-D2-search")  # JSON + safetensors: no pickle to execute
    assert isinstance(seq, nn.Sequential) and not list(out.rglob("*.pt")) and not list(out.rglob("*.tmp"))
    assert "load_mlp" in printed
    assert cli_main(["--autoencoder-dir", str(tmp_path), "--activation", "linear"]) == 2
    assert "ae-linear-min-small" in capsys.readouterr().err


def test_cli_csv_through_a_given_autoencoder_reports_the_users_units_and_the_weights_used(tmp_path, capsys):
    from swao.method.model import MultiScaleAutoencoder
    from swao.ours.export import load_mlp
    from swao.training.checkpoint import save_snapshot
    from swao.training.config import get_config

    config = get_config("smoke", width=0.25)
    torch.manual_seed(0)
    snap = tmp_path / "ae.safetensors"
    save_snapshot(snap, MultiScaleAutoencoder(width=0.25), {"activation": "sigmoid", "loss": "min", "p": None, "mask_grad": "none",
                                                           "config": config.to_dict(), "steps": 3, "total_steps": 8})
    csv = write(tmp_path, "a,b,c,y\n" + "".join(f"{i / 40},{(i * 7 % 40) / 40},{(i * 3 % 40) / 40},{100 + i * i / 40}\n"
                                              for i in range(60)), "mine.csv")
    out = tmp_path / "out"
    assert cli_main(["--autoencoder", str(snap), "--dataset", str(csv), "--scale", "smoke", "--steps", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "your data's units" in printed and "mpe_scaled" in printed and "Spread over" not in printed
    res = json.loads((out / "results.json").read_text())
    sizes = res["provenance"]["sizes"]
    assert f"the sigmoid autoencoder {snap}: 3 of 8 training steps of 64 MLPs (192 MLP passes" in sizes
    assert "x 1 epoch" not in sizes and "search 3 steps" in sizes  # the file's weights, not the scale's training sizes
    data = load_csv(csv)
    cell = res["types"]["sigmoid"]["search"]["mine"]["D2"]
    net = load_mlp(out / "mlps" / "sigmoid-mine-D2-search")
    with torch.no_grad():
        assert cell["mpe"] == pytest.approx(float(mpe(net(data["x_test"]).squeeze(-1), data["y_test"])), rel=1e-5)
    assert "mpe_scaled" in cell and cell["mpe_scaled"] != cell["mpe"]
    assert cli_main(["--autoencoder", str(tmp_path / "missing.safetensors"), "--dataset", str(csv), "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("swao search: error: no swao checkpoint at") and "Traceback" not in err


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_mse_gradient(activation, monkeypatch):
    """The fused kernel (forward + backward in chunks) == autograd, and passes gradcheck."""
    import swao.method.fused_mse as fused_mse

    monkeypatch.setattr(fused_mse, "CHUNK", 1)
    monkeypatch.setattr(fused_mse, "MIN_CHUNK", 7)  # chunks of 7 points: several, the last one short
    g = torch.Generator().manual_seed(2)
    for L in (1, 3):
        m = torch.randn(4, H, matrix_width(L), generator=g, dtype=torch.float64) * 0.8
        m[..., -L:] = (m[..., -L:] > -0.5).double()
        m = apply_masks(m).requires_grad_(True)
        xt = torch.rand(4, 3, 30, generator=g, dtype=torch.float64) * 2 - 1
        y = torch.rand(4, 30, generator=g, dtype=torch.float64)
        fused = fused_mse.mlp_mse(m, xt, y, activation)
        ref = (forward_points_last(m, xt, activation, masked=False) - y).square().mean(-1)
        assert torch.allclose(fused, ref)
        w = torch.rand(4, dtype=torch.float64)
        (a,) = torch.autograd.grad((fused * w).sum(), m)
        (b,) = torch.autograd.grad((ref * w).sum(), m)
        assert torch.allclose(a, b, atol=1e-10)
        assert torch.autograd.gradcheck(lambda m: fused_mse.mlp_mse(m, xt, y, activation), (m,))


def test_depth_workers_do_not_change_the_result():
    dec = StandIn()
    data = [decoded_dataset(dec, 3, "linear", n=300, seed=4)]
    a = search(dec, data, "linear", SearchBudget(15, restarts=2, seed=1, eval_every=5), workers=1)
    b = search(dec, data, "linear", SearchBudget(15, restarts=2, seed=1, eval_every=5), workers=3)
    for x, y in zip(a.matrices, b.matrices):
        assert torch.equal(x, y)
    assert torch.equal(a.trajectory["loss"], b.trajectory["loss"]) and torch.equal(a.test_mpe, b.test_mpe)


def test_frames_follow_the_search(small_search):
    from swao.method.optimise import N_FRAMES

    _, _, r = small_search
    c = r.summary(["a", "b"])["a"]["D2"]
    f = c["frames"]
    assert f["step"][0] == 0 and f["step"][-1] == 40 and len(f["step"]) == len(f["matrices"]) == N_FRAMES
    assert all(torch.tensor(m).shape == (7, 17) for m in f["matrices"])
    # the frames change along the search (z moves), and they are exported (thresholded) MLPs
    assert not torch.equal(torch.tensor(f["matrices"][0]), torch.tensor(f["matrices"][-1]))


# ---------------------------------------------------------------- device: nothing tied to the CPU
class HostTraffic(TorchDispatchMode):
    """Records the ops that on a GPU would copy from the host or wait for the device: tensors built
    from Python lists (indexing with a list, ``torch.tensor([...])``: a blocking host-to-device
    copy on CUDA) and values read back (``.item()``, ``float(t)``, ``if t:``), except Adam's step
    counters (CPU tensors on every device)."""

    def __init__(self):
        super().__init__()
        self.hits: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        read = func is torch.ops.aten._local_scalar_dense.default
        if read or (func is torch.ops.aten.lift_fresh.default and out.dim() > 0):
            stack = [f for f in traceback.extract_stack() if "site-packages" not in f.filename]
            if not (read and any("torch/optim" in f.filename.replace("\\", "/") for f in traceback.extract_stack())):
                self.hits.append(f"{func} at " + " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stack[::-1][1:4]))
        return out


@pytest.mark.parametrize("method", ["search", "direct", "dense+prune"])
def test_step_loop_needs_no_host_traffic(method):
    """A step of the search / baselines neither reads a value back nor builds a tensor from Python
    data (each would be a host sync per step on CUDA: 30,000 steps). Checked by counting such ops
    in runs of k and 2k steps (validation only at the first and last step): the counts agree."""
    from swao.ours.baselines import dense_then_prune, direct_sparse

    dec = StandIn()
    data = [decoded_dataset(dec, 2, "sigmoid", n=200, seed=1)]
    run = {
        "search": lambda k: search(dec, data, "sigmoid", SearchBudget(k, restarts=2, eval_every=10**9), workers=1),
        "direct": lambda k: direct_sparse(data, "sigmoid", SearchBudget(k, restarts=2, eval_every=10**9), workers=1),
        "dense+prune": lambda k: dense_then_prune(data, "sigmoid", SearchBudget(k, restarts=2, eval_every=10**9), torch.full((4, 1), 9), workers=1),
    }[method]
    counts = []
    for k in (8, 16):
        with HostTraffic() as h:
            run(k)
        counts.append(h.hits)
    assert len(counts[0]) == len(counts[1]), sorted(set(counts[1]) - set(counts[0])) or counts[1]


def test_optimise_on_the_meta_device():
    """Every tensor the loop creates follows the device of its inputs, and nothing comes back to
    the CPU before :func:`finish`: the whole loop (sparse and plain MSE, decoder and direct
    weights) and the pruning run on ``meta`` tensors, with no op mixing devices."""
    import swao.method.optimise as optimise
    import swao.method.search as S
    from swao.ours.baselines import full_matrix, init_weights, prune_mask

    class Mixing(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.bad: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            tensors = [t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
            devices = {t.device.type for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
            if len(devices) > 1:
                self.bad.append(f"{func}: {sorted(devices)}")
            return out

    meta = torch.device("meta")
    data = optimise.TripleData.build([decoded_dataset(StandIn(), 2, "linear", n=100, seed=s) for s in (1, 2)], 2, meta)
    ws = [init_weights(4, j, torch.Generator().manual_seed(0)).to(meta).requires_grad_(True) for j in (1, 2, 3, 4)]
    dec = StandIn().to(meta)
    zs = [torch.rand(4, 128).to(meta).requires_grad_(True) for _ in range(4)]
    # the validation's non-zero count checks finiteness (a read-back, impossible on meta): count without it
    with Mixing() as m, pytest.MonkeyPatch.context() as mp:
        mp.setattr(optimise, "nonzero_count", lambda e: (e != 0).sum((-2, -1)))
        outs = [
            optimise.optimise(optimise.Problem(lambda i: full_matrix(ws[i]), ws, 0.01), data, "sigmoid", 5, eval_every=2),
            optimise.optimise(optimise.Problem(lambda i: full_matrix(ws[i]), ws, 0.01, sparse=False), data, "leaky_relu", 5,
                              eval_every=2),
            optimise.optimise(optimise.Problem(lambda i: dec.decode_depth(zs[i], i + 1), zs, S.Z_LR), data, "linear", 5,
                              eval_every=2),
        ]
        prune_mask(outs[1]["matrices"][2], torch.full((4,), 9, device=meta))
    assert not m.bad, m.bad
    for out in outs:
        assert all(t.device == meta for t in tree_leaves(out) if isinstance(t, torch.Tensor) and t.dim() > 1)


# ---------------------------------------------------------------- on a GPU (skipped without CUDA)
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@requires_cuda
def test_cuda_search_and_baselines_match_cpu():
    """A tiny search (float64) and both baselines (float32) on CUDA agree with the same runs on CPU."""
    from swao.ours.baselines import dense_then_prune, direct_sparse

    dec = StandIn().double()
    data = [decoded_dataset(dec, 2, "sigmoid", n=400, seed=s) for s in (1, 2)]
    budget = SearchBudget(20, restarts=2, seed=3, eval_every=5)
    cpu = search(dec, data, "sigmoid", budget)
    gpu = search(copy.deepcopy(dec).cuda(), data, "sigmoid", budget)
    _agree(cpu, gpu, rtol=1e-5, atol=1e-7)

    data = [{k: v.float() for k, v in d.items()} for d in data]
    targets = torch.tensor([[5, 6], [10, 12], [15, 18], [20, 24]])
    for run in (lambda dev: direct_sparse(data, "leaky_relu", budget, device=dev),
                lambda dev: dense_then_prune(data, "linear", budget, targets, device=dev)):
        _agree(run("cpu"), run("cuda"), rtol=2e-3, atol=1e-4)


def _agree(cpu, gpu, rtol, atol):
    for k in ("test_mpe", "val_loss", "threshold", "lam"):
        a, b = getattr(cpu, k), getattr(gpu, k)
        assert b.device.type == "cpu" and torch.isfinite(b).all(), k
        assert torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol), (k, (a - b).abs().max())
    assert (cpu.nonzeros - gpu.nonzeros).abs().max() <= 1
    for k in ("loss", "mse", "t"):
        assert torch.allclose(cpu.trajectory[k].double(), gpu.trajectory[k].double(), rtol=rtol, atol=atol), k
    for a, b in zip(cpu.matrices, gpu.matrices):
        assert torch.allclose(a.double(), b.double(), rtol=rtol, atol=100 * atol)
    assert [s for s, _ in cpu.frames] == [s for s, _ in gpu.frames]


@requires_cuda
@pytest.mark.parametrize("decoder", ["stand-in", "autoencoder"])
def test_cuda_steps_do_not_sync(decoder):
    """No step of the search or the baselines waits for the GPU (torch.cuda's sync debug mode
    raises on any synchronising call between the 2nd and the 5th step of each run)."""
    from swao.ours.baselines import dense_then_prune, direct_sparse
    from swao.method.model import MultiScaleAutoencoder

    torch.manual_seed(0)
    dec = (StandIn() if decoder == "stand-in" else MultiScaleAutoencoder()).cuda()
    data = table2_datasets("sigmoid", 300)["3hl"]

    def watch(step, loss):  # called after each step's forward pass
        torch.cuda.set_sync_debug_mode("error" if 1 <= step < 5 else "default")

    budget = SearchBudget(10, restarts=2, eval_every=100)  # validation (which reads back) at the first and last step
    try:
        search(dec, [data], "sigmoid", budget, progress=watch)
        if decoder == "stand-in":
            direct_sparse([data], "sigmoid", budget, device="cuda", progress=watch)
            dense_then_prune([data], "sigmoid", budget.replace(steps=20), torch.full((4, 1), 9), device="cuda", progress=watch)
    finally:
        torch.cuda.set_sync_debug_mode("default")


# ---------------------------------------------------------------- what the mutation run showed missing
def test_optimise_refuses_a_penalty_without_its_scale_and_checks_split_sizes():
    from swao.method.optimise import Problem, TripleData

    data = table2_datasets("sigmoid", 300, seed=0)
    leaf = torch.zeros(1, H, matrix_width(1), requires_grad=True)
    for kw in (dict(sparse=False), dict(sparse=True, penalty_scale=torch.ones(1))):
        with pytest.raises(ValueError, match="penalty_fn needs sparse=False and a penalty_scale"):
            Problem(lambda i: leaf, [leaf], 0.1, penalty_fn=lambda i: leaf.sum(dim=(1, 2)), **kw)
    short = dict(data["3hl"], x_train=data["3hl"]["x_train"][:-1], y_train=data["3hl"]["y_train"][:-1])
    with pytest.raises(ValueError, match="same train size"):
        TripleData.build([data["2hl"], short], 1, "cpu")


def test_plain_mse_is_logged_unswitched_and_the_penalty_option_reaches_the_objective():
    from swao.method.fused_mse import mlp_mse
    from swao.method.optimise import Problem, TripleData, objective, optimise
    from swao.method.sparsity import sparsity_penalty, switched, weights_and_masks

    data = TripleData.build([table2_datasets("sigmoid", 300, seed=0)["2hl"]], 1, "cpu")
    g = torch.Generator().manual_seed(0)
    m = torch.randn(1, H, matrix_width(2), generator=g) * 0.05  # small weights: the switch would change them
    m[..., -2:] = 1.0
    m[0, 3, -1] = 0.0  # a masked neuron: zeros in the weight part
    m = apply_masks(m)
    leaf = m.clone().requires_grad_(True)
    out = optimise(Problem(lambda i: leaf, [leaf], 0.0, sparse=False), data, "sigmoid", 0)
    assert torch.allclose(out["trajectory"]["mse"][0, 0, 0], mlp_mse(m, data.xt["train"], data.y["train"], "sigmoid")[0])
    t = torch.tensor([0.02])
    for penalty in ("all", "active"):
        mse, pen = objective(m, t, data.xt["train"], data.y["train"], "sigmoid", True, penalty)
        assert torch.allclose(pen, sparsity_penalty(weights_and_masks(m)[0], t, penalty))
        assert torch.allclose(mse, mlp_mse(switched(m, t), data.xt["train"], data.y["train"], "sigmoid"))
    logged = {}
    for penalty in ("all", "active"):
        leaf = m.clone().requires_grad_(True)
        logged[penalty] = optimise(Problem(lambda i: leaf, [leaf], 0.0, penalty=penalty), data, "sigmoid", 0)["trajectory"]["loss"]
    assert not torch.equal(logged["all"], logged["active"])


def test_the_default_validation_interval_is_a_two_hundredth_of_the_steps():
    from swao.method.optimise import Problem, TripleData, optimise

    data = TripleData.build([table2_datasets("sigmoid", 100, seed=0)["2hl"]], 1, "cpu")
    leaf = torch.zeros(1, H, matrix_width(1)).requires_grad_(True)
    for steps, every in ((400, 2), (1000, 5), (150, 1), (250, 1)):
        out = optimise(Problem(lambda i: leaf, [leaf], 0.0, sparse=False), data, "sigmoid", steps)
        assert out["trajectory"]["step"][:3].tolist() == [0, every, 2 * every]


def test_the_summary_reports_the_spread_and_the_dead_flags_of_its_result():
    dec = StandIn()
    data = [decoded_dataset(dec, 2, "sigmoid", n=300, seed=s) for s in (1, 2)]
    for R in (1, 2, 3):
        r = search(dec, data, "sigmoid", SearchBudget(6, restarts=R, seed=0, eval_every=3))
        c = r.summary(["a", "b"])["b"]["D3"]
        m, nz = r.test_mpe[2, 1].double(), r.nonzeros[2, 1].double()
        assert c["mpe_std"] == (float(m.std()) if R > 1 else 0.0) and c["nonzeros_std"] == (float(nz.std()) if R > 1 else 0.0)
        assert c["dead_start_all"] == r.dead_start[2, 1].tolist() and c["dead_end_all"] == r.dead_end[2, 1].tolist()
        assert [st for st, _ in r.frames] == sorted({round(6 * k / 10) for k in range(11)})  # N_FRAMES - 1 = 10 parts
    assert list(r.summary()) == ["0", "1"]
    r.val_loss[2, 1, 0] = float("nan")  # a diverged restart is never the best one
    r.test_mpe[2, 1, 1] = float("inf")
    assert int(r.best_restart()[2, 1]) != 0
    assert r.summary(["a", "b"])["b"]["D3"]["mpe_all"][1] is None  # JSON has no inf: None


class Encoding(StandIn):
    """The stand-in decoder with an encoder (a fixed random map of the matrix) and masks that
    are on only above ``cut``: a pool in which some decodings have a dead layer and some not."""

    def __init__(self, cut=1.0):
        super().__init__()
        self.p = nn.Parameter(torch.randn(H * 33, 128, generator=torch.Generator().manual_seed(1)) * 0.05)
        self.cut = cut

    def encode(self, padded, depth):
        return torch.sigmoid(padded.flatten(1) @ self.p)

    def decode_depth(self, z, j):
        raw = (z @ self.w[j - 1]).view(-1, H, matrix_width(j))
        return apply_masks(torch.cat([raw[..., :-j], (raw[..., -j:] > self.cut).to(raw.dtype)], -1))


def test_encoded_starts_keep_only_embeddings_that_decode_alive():
    from swao.method.generation import generator, random_mlps
    from swao.method.representation import dead_layer
    from swao.method.search import encoded_starts
    from swao.method.sparsity import export_matrix

    model = Encoding(cut=1.0)
    with torch.no_grad():
        padded, depth = random_mlps(64, "sigmoid", gen=generator(7))
        z_pool = model.encode(padded, depth)
        for j in (1, 2):  # the pool has dead and alive decodings through both decoders
            assert 0.1 < float(dead_layer(model.decode_depth(z_pool, j)).float().mean()) < 0.9
        z = encoded_starts(model, "sigmoid", (1, 2), 40, seed=7, pool=64)
        assert not dead_layer(model.decode_depth(z[0], 1)).any() and not dead_layer(model.decode_depth(z[1], 2)).any()
        assert torch.equal(z, encoded_starts(model, "sigmoid", (1, 2), 40, seed=7, pool=64))
        assert not torch.equal(z, encoded_starts(model, "sigmoid", (1, 2), 40, seed=8, pool=64))
        every = encoded_starts(Encoding(cut=5.0), "sigmoid", (1,), 10, seed=7, pool=64)  # none alive: the whole pool
        assert every.shape == (1, 10, 128)
    x = torch.rand(200, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1
    ds = {"x_train": x[:100], "y_train": x[:100, 0], "x_valid": x[100:160], "y_valid": x[100:160, 0],
          "x_test": x[160:], "y_test": x[160:, 0]}
    r = search(model, [ds], "sigmoid", SearchBudget(2, restarts=2, depths=(1,), seed=3), SearchOptions(start="encoded"))
    z0 = encoded_starts(model, "sigmoid", (1,), 2, seed=3)
    with torch.no_grad():  # the search's first snapshot is the decoding of exactly those starts
        assert torch.allclose(r.frames[0][1][0], export_matrix(model.decode_depth(z0[0], 1), torch.zeros(2)))
    assert not r.dead_start.any()
    u = search(model, [ds], "sigmoid", SearchBudget(2, restarts=8, depths=(1, 2), seed=3))  # uniform starts: some decode dead
    cells = u.summary(["d"])["d"]
    assert u.dead_start.any() and u.dead_end.any()
    for i, dec in enumerate(("D1", "D2")):
        assert cells[dec]["dead_start_all"] == u.dead_start[i, 0].tolist()
        assert cells[dec]["dead_end_all"] == u.dead_end[i, 0].tolist()


def test_the_search_passes_its_penalty_option_on():
    dec = StandIn()
    data = [decoded_dataset(dec, 2, "sigmoid", n=300, seed=1)]
    a = search(dec, data, "sigmoid", SearchBudget(4, restarts=1, seed=0, eval_every=2), SearchOptions(penalty="all"))
    b = search(dec, data, "sigmoid", SearchBudget(4, restarts=1, seed=0, eval_every=2), SearchOptions(penalty="active"))
    assert not torch.equal(a.trajectory["loss"], b.trajectory["loss"])  # the zero rows of B_1 count only in "all"


def test_untrained_autoencoders_are_the_scales_network():
    """``swao search --untrained`` builds the scale's network (the small scale's is half as wide)."""
    from swao.cli import search as cli_search

    args = cli_search._parser().parse_args(["--untrained", "--scale", "small", "--activation", "linear"])
    models, weights = cli_search._load_autoencoders(args, ["linear"], torch.device("cpu"), get_config("small"))
    assert weights == "freshly initialised (untrained) autoencoders of the small scale's network"
    assert models["linear"].width == get_config("small").width == 0.5
