"""The options beyond the paper (issue 14), each off by default, each tested against a reference:
the training recipe (schedule, mask bias, copy term), the search's start, masks and penalty,
the dead-layer test, the floors and the collapse views, and the cache keys they enter."""
import math

import pytest
import torch
from torch import nn

from swao.training import diagnostics
from swao.method import losses
from swao.book.cache import cache_key
from swao.training.config import TRAINING_FIELDS, get_config
from swao.method.forward import forward
from swao.method.generation import input_grid, random_mlps
from swao.method.metrics import median, mpe
from swao.method.model import MultiScaleAutoencoder
from swao.method.representation import H, apply_masks, dead_layer, matrix_width
from swao.method.search import search
from swao.method.sparsity import sparsity_penalty
from swao.training.train import copy_weight_at, lr_at, train_autoencoder, train_batch
from swao.method.settings import SearchBudget, SearchOptions


def test_defaults_are_the_papers_and_bad_values_name_the_parameter():
    for scale in ("smoke", "paper"):
        c = get_config(scale)
        assert (c.schedule, c.mask_bias, c.copy_weight, c.width, c.mask_grad) == ("step", 0.0, 0.0, 1.0, "none")
        assert c.options() == {} and "options beyond the paper" not in c.describe()
        assert (c.search_start, c.search_masks, c.search_penalty) == ("uniform", "none", "all")
    for name, value, message in [("schedule", "cosine", "schedule must be one of"), ("copy_weight", -1.0, "copy_weight must be >= 0"),
                                 ("mask_bias", float("nan"), "mask_bias must be a finite number"),
                                 ("search_start", "zeros", "search_start must be one of"),
                                 ("search_penalty", "some", "search_penalty must be one of"),
                                 ("search_masks", True, "search_masks must be one of"),
                                 ("copy_until", 0.0, "copy_until must be a fraction"), ("width", 8, "width must be a number in"),
                                 ("mask_grad", "soft", "mask_grad must be one of")]:
        with pytest.raises(ValueError, match=message):
            get_config("smoke", **{name: value})


def test_a_table_made_with_our_options_says_so():
    c = get_config("smoke", width=0.5, copy_weight=1.0)
    assert c.options() == {"copy_weight": 1.0, "width": 0.5}
    assert c.describe().endswith("our options beyond the paper: copy_weight=1.0, width=0.5")
    assert get_config("small").options() and not get_config("paper").options()  # the small book says which it uses


def test_a_narrower_autoencoder_decodes_the_same_shapes_and_its_checkpoint_loads(tmp_path):
    from swao.training.checkpoint import load_autoencoder
    from swao.method.model import n_parameters

    cfg = get_config("smoke", batch_size=16, train_mlps=16, epochs=1, width=0.5)
    out = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path, device="cpu", progress=False)
    model, meta = load_autoencoder(tmp_path)
    assert n_parameters(model) == n_parameters(out["model"]) < n_parameters(MultiScaleAutoencoder()) / 3
    padded, depth = random_mlps(4, "sigmoid", seed=0)
    assert [g.shape[-1] for g in model(padded, depth)] == [9, 17, 25, 33]
    assert all(torch.equal(a, b) for a, b in zip(model(padded, depth), out["model"].eval()(padded, depth)))


def test_linear_schedule_warms_up_then_decays_to_zero_and_step_halves():
    c = get_config("smoke", schedule="linear", train_mlps=64 * 100, epochs=1, lr=1e-3)  # 100 steps, 5 of warm-up
    lrs = [lr_at(c, s) for s in range(100)]
    assert lrs[0] == pytest.approx(2e-4) and lrs[4] == pytest.approx(1e-3) and max(lrs) == pytest.approx(1e-3)
    assert lrs[99] == pytest.approx(1e-3 / 95) and all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    s = get_config("smoke", train_mlps=64 * 10, epochs=4, lr=1e-3, lr_halve_epochs=2)
    assert [lr_at(s, k) for k in (0, 19, 20, 39)] == [1e-3, 1e-3, 5e-4, 5e-4]


def test_copy_weight_is_annealed_to_zero_over_the_first_half():
    c = get_config("smoke", copy_weight=2.0, train_mlps=64 * 10, epochs=1)
    assert [copy_weight_at(c, s) for s in (0, 1, 5, 9)] == [2.0, pytest.approx(1.6), 0.0, 0.0]
    full = c.replace(copy_until=1.0)
    assert [copy_weight_at(full, s) for s in (0, 5, 9)] == [2.0, pytest.approx(1.0), pytest.approx(0.2)]
    assert copy_weight_at(get_config("smoke"), 0) == 0.0


def test_copy_loss_against_a_loop_and_zero_for_a_copy():
    cfg = get_config("smoke", batch_size=16)
    padded, depth, counts = train_batch(cfg, "sigmoid", 0)
    decoded = MultiScaleAutoencoder()(padded, depth, counts)
    ref = []
    for i in range(len(padded)):
        L = int(depth[i])
        ref.append((decoded[L - 1][i] - padded[i, :, : matrix_width(L)]).square().mean())
    assert torch.allclose(losses.copy_loss(decoded, padded, counts), torch.stack(ref).mean(), rtol=1e-6)
    copies = [padded[..., : matrix_width(L)] for L in (1, 2, 3, 4)]
    assert losses.copy_loss(copies, padded, counts) == 0


def test_mask_bias_starts_every_neuron_on_and_zero_keeps_the_init():
    torch.manual_seed(0)
    plain = MultiScaleAutoencoder()
    torch.manual_seed(0)
    same = MultiScaleAutoencoder(mask_bias=0.0)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), same.state_dict().values()))
    on = MultiScaleAutoencoder(mask_bias=5.0)
    padded, depth = random_mlps(32, "sigmoid", seed=1)
    for L, g in zip((1, 2, 3, 4), on(padded, depth)):
        assert (g[..., -L:] == 1).all()


def test_training_with_the_options_runs_and_the_copy_term_enters_the_loss(tmp_path):
    cfg = get_config("smoke", batch_size=16, train_mlps=32, epochs=1, val_every=2, checkpoint_every=2, schedule="linear",
                     mask_bias=2.0, copy_weight=1.0)
    with_copy = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "a", device="cpu", progress=False)
    without = train_autoencoder(cfg.replace(copy_weight=0.0), "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False)
    assert with_copy["history"]["loss"][0] > without["history"]["loss"][0]  # step 0: the same net, plus the copy term
    assert with_copy["history"]["lr"] == [lr_at(cfg, 0), lr_at(cfg, 1)]


def test_an_autoencoders_cache_key_ignores_the_search_and_evaluation_sizes():
    c = get_config("paper")
    keep = cache_key("autoencoder", config=c.training_dict())
    for change in (dict(search_steps=10), dict(eval_mlps=3), dict(search_start="encoded"), dict(restarts=1)):
        assert cache_key("autoencoder", config=c.replace(**change).training_dict()) == keep
    for change in (dict(lr=1e-4), dict(copy_weight=1.0), dict(schedule="linear"), dict(seed=1)):
        assert cache_key("autoencoder", config=c.replace(**change).training_dict()) != keep
    assert set(TRAINING_FIELDS) <= set(c.to_dict())


def test_every_config_field_says_what_it_is_for_so_a_training_field_cannot_be_forgotten():
    """TRAINING_FIELDS (an autoencoder's cache key, what a resumed run must match) is read from the
    fields' declarations: a new field declares its role, or the config does not build."""
    import dataclasses

    from swao.training import config as C

    fields = dataclasses.fields(C.Config)
    assert all(f.metadata.get("role") in C.ROLES for f in fields), "a field without a role"
    assert C.TRAINING_FIELDS == tuple(f.name for f in fields if f.metadata["role"] == "training")
    assert {"lr", "width", "loss_scale", "seed", "schedule"} <= set(C.TRAINING_FIELDS)
    assert not {"eval_mlps", "search_steps", "search_masks", "mask_grad"} & set(C.TRAINING_FIELDS)
    # a field added without a role fails where the config's own fields are read
    with pytest.raises(KeyError):
        dataclasses.make_dataclass("Grown", [("new_knob", int, dataclasses.field(default=1))], bases=(C.Config,),
                                   frozen=True)(**{**get_config("smoke").to_dict(), "new_knob": 2})
    # every option beyond the paper is off in the paper's config, and one home holds its allowed values
    paper = get_config("paper")
    assert paper.options() == {} and set(C.CHOICES) <= set(C.OPTIONS)
    from swao.method.model import MASK_GRADS
    from swao.method.search import STARTS
    assert C.CHOICES["mask_grad"] is MASK_GRADS is C.CHOICES["search_masks"] and C.CHOICES["search_start"] is STARTS


def test_a_config_written_before_the_mask_rename_still_reads():
    """``search_masks`` was spelled ``"hard"`` where ``mask_grad`` says ``"none"`` (one kind of mask):
    a config from an older result or checkpoint reads as the new spelling."""
    from swao.training.config import Config

    old = {**get_config("paper").to_dict(), "search_masks": "hard"}
    assert Config(**old).search_masks == "none" and Config(**old) == get_config("paper")
    with pytest.raises(ValueError, match="search_masks must be one of"):
        get_config("paper", search_masks="soft")


def test_dead_layer_finds_a_fully_masked_layer_and_a_cut_output():
    m = torch.randn(3, H, matrix_width(2))
    m[..., -2:] = 1.0
    m[1, :, -1] = 0.0  # layer 2: every neuron off
    m[2, :, 2 * H] = 0.0  # output weights all zero
    m = apply_masks(m)
    assert dead_layer(m).tolist() == [False, True, True]


def test_active_penalty_skips_exact_zeros_only():
    w = torch.tensor([[[0.0, 0.5, -2.0, 0.0]]])
    t = torch.tensor([0.3])
    per = 0.5 * torch.sigmoid(10 * (w.abs() - 0.3)) + 0.1 * w.abs()
    assert torch.allclose(sparsity_penalty(w, t), per.sum().reshape(1))
    assert torch.allclose(sparsity_penalty(w, t, "active"), per[w != 0].sum().reshape(1))
    # the zeros' terms fall as t grows: with "all" they alone push t up; with "active" they do not
    t = torch.tensor([0.3], requires_grad=True)
    sparsity_penalty(torch.zeros(1, 1, 4), t).sum().backward()
    assert t.grad.item() < 0
    t.grad = None
    sparsity_penalty(torch.zeros(1, 1, 4), t, "active").sum().backward()
    assert t.grad.item() == 0
    with pytest.raises(ValueError, match="penalty must be one of"):
        sparsity_penalty(w, t, "nonzero")


def test_encoded_starts_decode_alive_and_straight_through_is_restored():
    torch.manual_seed(0)
    model = MultiScaleAutoencoder(mask_bias=0.5)
    x = torch.rand(200, 3) * 2 - 1
    ds = {"x_train": x[:100], "y_train": x[:100, 0], "x_valid": x[100:160], "y_valid": x[100:160, 0],
          "x_test": x[160:], "y_test": x[160:, 0]}
    r = search(model, [ds], "sigmoid", SearchBudget(3, restarts=2), SearchOptions(start="encoded", masks="straight_through", penalty="active"))
    assert not r.dead_start.any() and model.mask_grad == "none"
    assert r.dead_end.shape == r.dead_start.shape == (4, 1, 2)
    with pytest.raises(ValueError, match="start must be one of"):
        search(model, [ds], "sigmoid", SearchBudget(1), SearchOptions(start="zeros"))
    with pytest.raises(ValueError, match="needs an autoencoder"):
        search(lambda z, j: model.decode_depth(z, j), [ds], "sigmoid", SearchBudget(1), SearchOptions(start="encoded"))


def test_floors_against_a_direct_computation():
    f = diagnostics.floors("linear", 20, seed=7)
    x = input_grid()
    from swao.training.evaluation import test_mlps

    for e, (padded, depth) in enumerate(test_mlps("linear", 20, 7)):
        y = losses.target_outputs(padded, depth, x, "linear")
        const = mpe(median(y)[:, None].expand_as(y), y)
        assert f["constant"]["median"][e] == pytest.approx(float(median(const.double())))
        # a linear-based MLP with linear hidden layers and a sigmoid output: a linear fit is close, not exact
        X = torch.cat([x, torch.ones(len(x), 1)], 1).double()
        lin = torch.stack([X @ torch.linalg.lstsq(X, yi.double()).solution for yi in y]).float()
        assert f["linear"]["mean"][e] == pytest.approx(float(mpe(lin, y).double().mean()), rel=1e-4)


def test_the_linear_floor_gives_the_same_bits_on_every_call():
    """The floors' least squares is deterministic at a fixed thread count (the CPU's default
    driver was not: its last digit changed from call to call in one process)."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1000, 3, generator=g) * 2 - 1
    y = torch.sigmoid(x @ torch.tensor([2.0, -1.0, 0.5]) + 0.3 * torch.sin(5 * x[:, 0])) + 0.01
    data = {"x_train": x[:800], "y_train": y[:800], "x_test": x[800:], "y_test": y[800:]}
    first = diagnostics.dataset_floors(data)
    assert all(diagnostics.dataset_floors(data) == first for _ in range(5))
    batch = torch.stack([y, y.flip(0)])
    preds = diagnostics.floor_predictions(batch, x)["linear"]
    assert all(torch.equal(diagnostics.floor_predictions(batch, x)["linear"], preds) for _ in range(5))
    assert diagnostics.LSTSQ_DRIVER == "gels"


class Constant(nn.Module):
    """Decodes every MLP to the same matrix: a collapsed autoencoder."""

    def __init__(self, dead: bool = False):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))
        self.dead = dead

    def forward(self, padded, depth):
        out = []
        for L in (1, 2, 3, 4):
            m = torch.full((len(padded), H, matrix_width(L)), 0.3) + self.p
            m[..., -L:] = 1.0
            if self.dead:
                m[..., -1] = 0.0
            out.append(apply_masks(m))
        return out


def test_collapse_sees_a_constant_autoencoder():
    c = diagnostics.collapse(Constant(), "sigmoid", 10, seed=0)
    assert c["dead_decoders"] == [] and all(d["mask_patterns"] == 1 for d in c["decoders"])
    assert all(math.isfinite(v) for v in c["median_correlation"])
    dead = diagnostics.collapse(Constant(dead=True), "sigmoid", 10, seed=0)
    assert dead["dead_decoders"] == ["D1", "D2", "D3", "D4"] and dead["near_constant_share"] == [1.0] * 4
    assert all(d["active_per_layer"][-1] == 0 for d in dead["decoders"])


def test_retuning_a_scale_keeps_the_code_fingerprint_and_changing_code_does_not():
    from swao.book import fingerprint as cache

    name = "swao.training.config"
    src = cache.module_file(name).read_bytes()
    assert f"\n{cache.SCALES_TABLE}: dict[str, Config] = {{".encode() in src  # the table, found by its name
    retuned = src.replace(b'scale="small", train_mlps=', b'scale="small", train_mlps=1 + 0 * ', 1)
    assert retuned != src and cache.fingerprinted(name, retuned) == cache.fingerprinted(name, src)
    # a comment edited anywhere, the table's included, changes nothing; a renamed table would be code
    commented = src.replace(b"# The table of scales.", b"# (edited) The table of scales.", 1)
    assert commented != src and cache.fingerprinted(name, commented) == cache.fingerprinted(name, src)
    recoded = src.replace(b"def with_overrides(config: Config, **overrides)", b"def with_overrides(config: Config, **changes)")
    assert recoded != src and cache.fingerprinted(name, recoded) != cache.fingerprinted(name, src)


def test_a_docstring_or_comment_edit_keeps_every_key_and_a_code_edit_changes_it():
    from swao.book import fingerprint as cache

    src = cache.module_file("swao.training.train").read_bytes()
    prose = src.replace(b'"""Training the multi-scale autoencoder', b'"""Training (a reworded docstring) the multi-scale autoencoder', 1)
    prose = prose.replace(b"# ------", b"# a new comment\n# ------", 1).replace(b"    def of(cls", b"\n    def of(cls", 1)
    assert prose != src and cache.fingerprinted("swao.training.train", prose) == cache.fingerprinted("swao.training.train", src)
    recoded = src.replace(b"WARMUP_STEPS = 100", b"WARMUP_STEPS = 101", 1)
    assert recoded != src and cache.fingerprinted("swao.training.train", recoded) != cache.fingerprinted("swao.training.train", src)
    model = cache.module_file("swao.method.model").read_bytes()
    assert cache.fingerprinted("swao.method.model", model.replace(b"SLOPE = ", b"SLOPE = 2 * ", 1)) \
        != cache.fingerprinted("swao.method.model", model)


def _keys_with(monkeypatch, module: str, edit) -> dict[str, str]:
    """Every kind's code fingerprint after ``edit`` (bytes -> bytes) of ``module``'s source."""
    from swao.book import fingerprint as cache

    path, read = cache.module_file(module), cache.Path.read_bytes
    monkeypatch.setattr(cache.Path, "read_bytes", lambda p: edit(read(p)) if p == path else read(p))
    cache.code_fingerprint.cache_clear()
    try:
        return {kind: cache.code_fingerprint(kind) for kind in cache.kind_modules()}
    finally:
        monkeypatch.undo()
        cache.code_fingerprint.cache_clear()


def test_which_edits_change_which_results_keys(monkeypatch):
    from swao.book import fingerprint as cache

    before = {kind: cache.code_fingerprint(kind) for kind in cache.kind_modules()}
    assert {"autoencoder", "mpe_table", "figure2", "search", "embedding", "mask_grad", "your_data"} <= set(before)
    # prose anywhere: no key changes
    reworded = _keys_with(monkeypatch, "swao.training.train", lambda s: s.replace(b"* Optimiser: Adam;", b"* Optimiser: Adam (reworded);"))
    assert reworded == before
    # a constant of the training loop: every result read from an autoencoder changes
    retrained = _keys_with(monkeypatch, "swao.training.train", lambda s: s.replace(b"WARMUP_STEPS = 100", b"WARMUP_STEPS = 99"))
    assert all(retrained[k] != before[k] for k in before)
    # a renderer or the book's facade: nothing is recomputed
    for module in ("swao.render.tables", "swao.render.plots", "swao.render.learning_plots", "swao.book.experiments"):
        assert _keys_with(monkeypatch, module, lambda s: s + b"\nX_ = 1\n") == before
    # the search: its results change, the autoencoders (and their tables) do not
    searched = _keys_with(monkeypatch, "swao.method.search", lambda s: s.replace(b"Z_LR = 0.1", b"Z_LR = 0.2"))
    assert searched["search"] != before["search"] and searched["your_data"] != before["your_data"]
    assert {k: searched[k] for k in ("autoencoder", "mpe_table", "figure2")} == \
        {k: before[k] for k in ("autoencoder", "mpe_table", "figure2")}


def test_an_autoencoders_key_reads_what_training_imports_and_nothing_else():
    from swao.book import fingerprint as cache

    modules = set(cache.code_modules("autoencoder"))
    assert {"swao.training.train", "swao.method.model", "swao.training.config", "swao.book.autoencoders"} <= modules
    assert not {m for m in modules if m.startswith(("swao.render", "swao.cli", "swao.ours"))}
    assert not {"swao.method.search", "swao.method.optimise", "swao.book.experiments", *cache.LEFT_OUT} & modules
    assert modules < set(cache.code_modules("search")) and "swao.ours.baselines" in cache.code_modules("search")
    assert cache.code_fingerprint("autoencoder") != cache.code_fingerprint("search")


def test_relative_loss_divides_each_mlps_error_by_its_mean_squared_output():
    padded, depth = random_mlps(12, "sigmoid", seed=3, depth=2)
    x = input_grid()
    y = losses.target_outputs(padded, depth, x, "sigmoid")
    decoded = MultiScaleAutoencoder()(padded, depth)
    plain, l = losses.autoencoder_loss(decoded, y, x, "sigmoid")
    rel, lr = losses.autoencoder_loss(decoded, y, x, "sigmoid", loss_scale="relative")
    ref = torch.stack([(forward(g, x, "sigmoid") - y).square().mean(-1) for g in decoded], -1)
    ref = ref / (y.square().mean(-1, keepdim=True) + losses.RELATIVE_EPS)
    assert torch.allclose(lr, ref, rtol=1e-5) and torch.allclose(rel, ref.min(-1).values.mean(), rtol=1e-5)
    assert torch.equal(l.argmin(-1), lr.argmin(-1))  # the same decoder is the best one
    with pytest.raises(ValueError, match="loss_scale must be one of"):
        losses.autoencoder_loss(decoded, y, x, "sigmoid", loss_scale="log")


def test_keep_layers_never_cuts_a_whole_layer_and_hard_means_hard():
    from swao.method.generation import target_dataset
    from swao.method.optimise import KEEP_FRACTION
    from swao.method.sparsity import layer_floor

    torch.manual_seed(0)
    model = MultiScaleAutoencoder(mask_grad="straight_through", mask_bias=2.0)
    ds = [target_dataset(2, "sigmoid", 5, 400)]
    seen = []

    class Spy:  # the masks the decoder uses while the search runs
        def __init__(self):
            self.decode_depth, self.encode = self.decode, model.encode
            self.mask_grad = model.mask_grad

        def decode(self, z, j):
            model.mask_grad = self.mask_grad
            seen.append(self.mask_grad)
            return model.decode_depth(z, j)

    spy = Spy()
    free = search(spy, ds, "sigmoid", SearchBudget(60, restarts=2, seed=1), SearchOptions(masks="none"))
    assert set(seen) == {"none"} and spy.mask_grad == "straight_through"
    kept = search(model, ds, "sigmoid", SearchBudget(60, restarts=2, seed=1), SearchOptions(keep_layers=True))
    assert not kept.dead_end.any()
    assert all((layer_floor(m) > 0).all() for m in kept.matrices)  # every exported layer keeps a weight
    assert free.dead_end.shape == kept.dead_end.shape and 0 < KEEP_FRACTION < 1
