"""Your own data (issue 15): the scaling in and out, the pickle-free export, the formula, the
Feynman equations, and ``swao search`` with the book's autoencoders."""
import json
import math

import pytest
import torch
from torch import nn

from swao.ours.export import OUTPUT_RANGE, Units, exported_sequential, fit_units, formula, load_mlp, save_mlp
from helpers import write_csv
from swao.ours.feynman import EQUATIONS, feynman_dataset, feynman_points
from swao.method.forward import forward
from swao.method.generation import random_mlps
from swao.method.representation import nonzero_count, unpad_matrix


def mlp(seed=3, act="sigmoid"):
    padded, depth = random_mlps(4, act, seed=seed)
    return [unpad_matrix(padded[i], depth[i]) for i in range(4)]


def user_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g) * torch.tensor([4.0, 1.0, 7.0]) + torch.tensor([1.0, -3.0, 3.0])
    return x, x[:, 0] * x[:, 1] / x[:, 2] + 100.0


@pytest.mark.parametrize("act", list(OUTPUT_RANGE))
def test_the_exported_mlp_predicts_in_the_users_units(act):
    x, y = user_data()
    u = Units.fit(x, y, act)
    scaled = u.x_in(x)
    assert torch.allclose(scaled.amin(0), torch.tensor(-1.0)) and torch.allclose(scaled.amax(0), torch.tensor(1.0))
    assert math.isclose(float(u.y_in(y).min()), OUTPUT_RANGE[act][0], abs_tol=1e-5)
    assert math.isclose(float(u.y_in(y).max()), OUTPUT_RANGE[act][1], abs_tol=1e-5)
    assert torch.allclose(u.y_out(u.y_in(y)), y)
    for m in mlp(act=act):
        with torch.no_grad():
            got = exported_sequential(m, act, u)(x).squeeze(-1)
        want = u.y_out(forward(m, u.x_in(x), act))  # the search's MLP on scaled inputs, its output unscaled
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-4)


def test_save_and_load_give_the_same_function_without_a_pickle(tmp_path):
    x, y = user_data()
    u = Units.fit(x, y, "sigmoid")
    m = mlp()[0]
    m_dead = m.clone()
    m_dead[:, -1] = 0  # the last hidden layer has no active neuron: an empty Linear
    for name, matrix, units in (("a", m, u), ("b", m, None), ("dead", m_dead, u)):
        path = save_mlp(tmp_path / name, matrix, "sigmoid", units, meta={"note": name})
        assert path.suffix == ".json" and (tmp_path / f"{name}.safetensors").is_file()
        net = load_mlp(tmp_path / name)
        with torch.no_grad():
            assert torch.equal(net(x), exported_sequential(matrix, "sigmoid", units)(x))
        assert json.loads(path.read_text())["meta"] == {"note": name}
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json"] * 3 + [".safetensors"] * 3  # no temp file left
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    (tmp_path / "bad.safetensors").write_bytes((tmp_path / "a.safetensors").read_bytes())
    with pytest.raises(ValueError, match="not a swao-mlp version 1"):
        load_mlp(tmp_path / "bad")
    with pytest.raises(ValueError, match="no such file"):
        load_mlp(tmp_path / "missing")


def test_units_refuse_constant_outputs_and_bad_shapes():
    x, y = user_data()
    with pytest.raises(ValueError, match="outputs are constant"):
        Units.fit(x, torch.full_like(y, 2.5), "sigmoid")
    with pytest.raises(ValueError, match=r"x must be \(P, 3\)"):
        Units.fit(x[:, :2], y, "sigmoid")
    with pytest.raises(ValueError, match="activation must be one of"):
        Units.fit(x, y, "tanh")
    x[:, 1] = 4.0  # a constant input maps to -1, not to a division by zero
    assert torch.equal(Units.fit(x, y, "sigmoid").x_in(x)[:, 1], torch.full((len(x),), -1.0))


@pytest.mark.parametrize("act", list(OUTPUT_RANGE))
def test_output_range_is_the_training_functions_quartiles(act):
    from swao.method.forward import forward_batch
    from swao.method.generation import input_grid

    padded, depth = random_mlps(256, act, seed=0)
    y = forward_batch(padded, depth, input_grid(), act).flatten()
    q1, q3 = torch.quantile(y, torch.tensor([0.25, 0.75])).tolist()
    spread = q3 - q1
    assert abs(OUTPUT_RANGE[act][0] - q1) < 0.05 * spread and abs(OUTPUT_RANGE[act][1] - q3) < 0.05 * spread


@pytest.mark.parametrize("act", list(OUTPUT_RANGE))
def test_the_formula_computes_the_mlp(act):
    x, y = user_data(n=5)
    u = Units.fit(x, y, act)
    for m in mlp(seed=5, act=act):
        text = formula(m, act, u, digits=17)
        lines = text.splitlines()
        terms = sum(line.count("·") for line in lines if not line.startswith(("u", "y")))
        assert terms == int(nonzero_count(m))  # one term per surviving weight
        with torch.no_grad():
            want = exported_sequential(m.double(), act, u)(x.double()).squeeze(-1)
        for row, w in zip(x.double().tolist(), want.tolist()):
            env = {"σ": lambda v: 1 / (1 + math.exp(-v)), "lrelu": lambda v: v if v > 0 else 0.1 * v}
            env.update({f"x{i + 1}": v for i, v in enumerate(row)})
            for line in lines:
                name, expr = line.split(" = ")
                env[name] = eval(expr.replace("·", "*"), env)  # noqa: S307 -- text this test's own code made
            assert math.isclose(env["y"], w, rel_tol=1e-9, abs_tol=1e-9)


def test_with_data_the_formula_folds_neurons_that_do_not_vary_and_still_computes_the_mlp():
    from swao.method.representation import split_matrix, join_matrix

    x, y = user_data(n=16)
    u = Units.fit(x, y, "sigmoid")
    m = next(m for m in mlp(seed=7) if m.shape[-1] >= 17)  # at least two hidden layers
    blocks, out, masks = split_matrix(m.clone().double())
    first = int(masks[0].nonzero()[0])  # an active neuron of layer 1, cut from every input: sigma(0) = 0.5
    blocks[0, :, first] = 0
    m = join_matrix(blocks, out, masks)
    text = formula(m, "sigmoid", u, digits=17, x=x)
    lines = text.splitlines()
    assert "h1_" in lines[3] and lines[3].startswith("constant on the data") and "= 0.5" in lines[3]
    env = {"σ": lambda v: 1 / (1 + math.exp(-v))}
    with torch.no_grad():
        want = exported_sequential(m, "sigmoid", u)(x.double()).squeeze(-1)
    for row, w in zip(x.double().tolist(), want.tolist()):
        env.update({f"x{i + 1}": v for i, v in enumerate(row)})
        for line in lines:
            if not line.startswith("constant"):
                name, expr = line.split(" = ")
                env[name] = eval(expr.replace("·", "*"), env)  # noqa: S307 -- text this test's own code made
        assert math.isclose(env["y"], w, rel_tol=1e-9, abs_tol=1e-9)
    # an MLP cut from its inputs altogether computes a constant, and the formula says so
    blocks[0] = 0
    flat = formula(join_matrix(blocks, out, masks), "sigmoid", u, x=x)
    assert "the MLP has collapsed" in flat and "·u" not in flat  # no term reads an input
    # a neuron that still varies, but whose layer-2 successors are cut: nothing reaches the output, no neuron is listed
    blocks = split_matrix(m.clone().double())[0].clone()
    blocks[1] = 0
    dead = join_matrix(blocks, out, masks)
    text = formula(dead, "sigmoid", u, x=x)
    with torch.no_grad():
        level = exported_sequential(dead, "sigmoid", u)(x.double()).squeeze(-1)
    assert float(level.max() - level.min()) < 1e-9
    assert "h1_" not in text and "h2_" not in text and "constant on the data (folded" not in text
    out_line = next(line for line in text.splitlines() if line.startswith("out = "))
    assert "the MLP has collapsed" in out_line and f"none of its {int(nonzero_count(dead))} non-zero weights" in out_line


def test_the_formula_of_an_mlp_with_a_layer_left_empty_warns_nothing(recwarn):
    """A layer whose mask keeps no neuron (a collapsed search's end) has no output to spread over
    the data: the formula says the MLP is a constant, and prints no warning (a warning lands in
    the notebook's output, with this machine's path in it)."""
    from swao.method.representation import split_matrix, join_matrix

    x, y = user_data(n=16)
    u = Units.fit(x, y, "sigmoid")
    m = next(m for m in mlp(seed=7) if m.shape[-1] >= 17)
    blocks, out, masks = split_matrix(m.clone().double())
    masks[0] = 0  # layer 1 keeps no neuron
    text = formula(join_matrix(blocks, out, masks), "sigmoid", u, x=x)
    assert "the MLP has collapsed" in text
    assert not [w for w in recwarn.list if issubclass(w.category, UserWarning)], [str(w.message) for w in recwarn.list]


def test_feynman_equations_by_hand():
    e = EQUATIONS
    assert all(len(q.variables) == 3 == len(q.ranges) for q in e.values())
    t = lambda *v: [torch.tensor(float(a), dtype=torch.float64) for a in v]  # noqa: E731
    assert float(e["I.14.3"].fn(*t(2, 3, 4))) == 24.0
    assert math.isclose(float(e["I.18.12"].fn(*t(2, 3, 0.5))), 6 * math.sin(0.5))
    assert math.isclose(float(e["I.6.2b"].fn(*t(2, 1, 3))), math.exp(-0.5) / (math.sqrt(2 * math.pi) * 2))
    assert math.isclose(float(e["I.10.7"].fn(*t(3, 1, 2))), 3 / math.sqrt(0.75))
    assert e["I.18.12"].ranges == ((1, 5), (1, 5), (0, 5)) and e["I.10.7"].ranges == ((1, 5), (1, 2), (3, 10))
    x, y = feynman_points("I.10.7", 500, seed=1)
    lo, hi = x.amin(0), x.amax(0)
    assert (lo >= torch.tensor([1.0, 1.0, 3.0])).all() and (hi <= torch.tensor([5.0, 2.0, 10.0])).all()
    assert torch.equal(feynman_points("I.10.7", 500, seed=1)[1], y)
    d = feynman_dataset("I.14.3", 100)
    assert d["x_train"].shape == (50, 3) and d["x_valid"].shape == (30, 3) and d["y_test"].shape == (20,)
    with pytest.raises(ValueError, match="equation must be one of"):
        feynman_points("II.99", 100)


def test_write_csv_reads_back(tmp_path):
    from swao.ours.csv_dataset import load_csv

    path = write_csv("I.18.12", tmp_path / "tau.csv", 40, seed=2)
    assert path.read_text().splitlines()[0] == "r,F,theta,tau"
    d = load_csv(path)
    assert sum(d[f"y_{s}"].numel() for s in ("train", "valid", "test")) == 40
    assert sorted(d["y_train"].tolist() + d["y_valid"].tolist() + d["y_test"].tolist()) == sorted(feynman_points("I.18.12", 40, 2)[1].tolist())


def test_fit_units_uses_the_training_split_only():
    d = feynman_dataset("I.14.3", 200)
    u = fit_units(d, "linear")
    assert u.y_lo == float(d["y_train"].min()) and u.y_hi == float(d["y_train"].max())


def test_swao_search_finds_the_books_autoencoders(tmp_path, monkeypatch, capsys):
    from swao.book import experiments
    from swao.training.config import get_config
    from swao.cli.search import cli_main

    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    csv = write_csv("I.14.3", tmp_path / "mgz.csv", 200)
    out = tmp_path / "found"
    args = ["--dataset", str(csv), "--activation", "sigmoid", "--scale", "smoke", "--steps", "3", "--out", str(out)]
    assert cli_main(args) == 2  # nothing trained yet: a clear error, nothing written
    err = capsys.readouterr().err
    assert "no trained 'sigmoid' autoencoder of scale 'smoke'" in err and "make book" in err and not out.exists()
    experiments.autoencoder_result(get_config("smoke"), "sigmoid-min", progress=False)  # what make book trains
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "the book's autoencoder" in printed and str(experiments.autoencoder_folder(get_config("smoke"), "sigmoid-min")) in printed
    assert "load_mlp" in printed and "in your units" in printed
    res = json.loads((out / "results.json").read_text())
    assert res["units"]["sigmoid"]["y_lo"] >= 1.0  # the CSV's units, recorded
    net = load_mlp(out / "mlps" / "sigmoid-mgz-D1-search")
    assert isinstance(net, nn.Sequential) and isinstance(net[0], nn.Linear) and isinstance(net[-1], nn.Linear)
