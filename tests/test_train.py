"""Autoencoder training at smoke scale: the loss falls, resumption is bit-exact, DDP replicas agree,
NaN stops cleanly, checkpoints are safe to load, bad parameters give clear errors."""
import json
import os
import socket

import pytest
import torch

from torch.utils._python_dispatch import TorchDispatchMode

from swao.method import losses
from swao.training.config import get_config
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.training.checkpoint import load_autoencoder, read_checkpoint, save_checkpoint
from swao.training.config import cuda_tf32
from swao.training.evaluation import evaluate_mpe
from swao.cli.train import cli_main
from swao.training.spec import autoencoder_spec
from swao.training.train import NonFiniteLoss, step_loss, train_autoencoder, train_batch


def tiny(**kw):
    base = dict(batch_size=16, train_mlps=16 * 6, epochs=1, val_mlps=16, val_every=3, checkpoint_every=2)
    return get_config("smoke", **{**base, **kw})


def test_smoke_training_loss_falls(tmp_path):
    # one fixed batch revisited every "epoch": the loss must fall
    cfg = tiny(train_mlps=32, batch_size=32, epochs=12, lr=1e-3, val_every=12, checkpoint_every=12)
    res = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path, device="cpu", progress=False)
    loss = res["history"]["loss"]
    assert len(loss) == 12 and sum(loss[-3:]) < 0.7 * sum(loss[:3]), loss
    meta = res["meta"]
    assert meta["steps"] == 12 and len(meta["val_mpe"]) == 4 and all(len(r) == 4 for r in meta["val_mpe"])
    hist = json.loads((tmp_path / "history.json").read_text())
    assert hist["val"][-1]["step"] == 12 and len(hist["mlps_per_s"]) == 12
    model, meta2 = load_autoencoder(tmp_path)
    for k in ("activation", "loss", "p", "mask_grad", "config", "steps", "val_mpe"):
        assert meta2[k] == meta[k]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), res["model"].state_dict().values()))


def test_a_segment_stops_at_its_deadline_and_resumes_bit_exact(tmp_path):
    import time

    cfg = tiny()  # 6 steps, checkpoints at 2, 4, 6
    full = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "a", device="cpu", progress=False)
    seg = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False, deadline=time.time() - 1)
    assert seg["stopped"] and not seg["halted"] and read_checkpoint(tmp_path / "b")[1]["steps"] == 1  # off the schedule
    again = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False, resume=True,
                              deadline=time.time() - 1)
    assert again["stopped"] and read_checkpoint(tmp_path / "b")[1]["steps"] == 2
    rest = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False, resume=True)
    assert not rest["stopped"] and rest["meta"]["steps"] == 6
    sa, sb = full["model"].state_dict(), rest["model"].state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full["history"]["loss"] == rest["history"]["loss"] and full["history"]["val"] == rest["history"]["val"]


def test_a_weights_only_snapshot_warm_starts_with_fresh_moments_and_a_warm_up(tmp_path):
    from swao.training.checkpoint import read_snapshot, save_snapshot
    from swao.training.train import WARMUP_STEPS, warm_factor

    cfg = tiny(train_mlps=16 * 8)  # 8 steps
    half = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "a", device="cpu", progress=False, steps=4)
    snap = tmp_path / "snap.safetensors"
    save_snapshot(snap, half["model"], {**half["meta"], "history": half["history"]})
    state, meta = read_snapshot(snap)
    assert all(v.dtype == torch.bfloat16 for v in state.values()) and meta["steps"] == 4 and meta["snapshot_dtype"] == "bfloat16"
    assert snap.stat().st_size < 0.6 * (tmp_path / "a" / "checkpoint.safetensors").stat().st_size / 3  # no Adam moments, half the bytes
    model, _ = load_autoencoder(snap)
    ref = half["model"].state_dict()
    assert all(torch.equal(v, ref[k].to(torch.bfloat16).float()) for k, v in model.state_dict().items())
    warm = train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False, warm_start=snap)
    starts = warm["meta"]["warm_starts"]
    assert warm["meta"]["steps"] == 8 and starts[0]["step"] == 4 and starts[0]["warmup_steps"] == WARMUP_STEPS
    assert warm["history"]["step"] == list(range(1, 9))  # the snapshot's history, continued
    assert warm["history"]["lr"][4:] == [cfg.lr * (k + 1) / WARMUP_STEPS for k in range(4)]
    assert warm_factor({}, 5) == 1.0 and warm_factor({"warm_starts": starts}, 3) == 1.0
    with pytest.raises(ValueError, match="cannot warm-start"):
        train_autoencoder(cfg, autoencoder_spec(cfg, "sigmoid", "pnorm", 1.0), tmp_path / "c", device="cpu", progress=False,
                          warm_start=snap)
    with pytest.raises(ValueError, match="not a swao weights-only snapshot"):
        read_snapshot(tmp_path / "a" / "checkpoint.safetensors")
    with pytest.raises(FileNotFoundError, match="no swao snapshot"):
        read_snapshot(tmp_path / "missing.safetensors")


def test_batches_are_fixed_by_seed_and_stratified():
    cfg = tiny()
    a, da, counts = train_batch(cfg, "sigmoid", b=3)
    b, db, _ = train_batch(cfg, "sigmoid", b=3)
    c, _, _ = train_batch(cfg, "sigmoid", b=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert counts == (4, 4, 4, 4) and da.tolist() == [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4


def test_resume_after_a_kill_gives_the_same_weights(tmp_path):
    cfg = tiny()  # 6 steps, checkpoints at 2, 4, 6
    pnorm = autoencoder_spec(cfg, "sigmoid", "pnorm", 0.5)
    full = train_autoencoder(cfg, pnorm, out_dir=tmp_path / "a", device="cpu", progress=False)
    halted = train_autoencoder(cfg, pnorm, out_dir=tmp_path / "b", device="cpu",
                               progress=False, halt_at_step=3)  # "killed" after step 3; last checkpoint: step 2
    assert halted["halted"] and read_checkpoint(tmp_path / "b")[1]["steps"] == 2
    resumed = train_autoencoder(cfg, pnorm, out_dir=tmp_path / "b", device="cpu",
                                progress=False, resume=True)
    sa, sb = full["model"].state_dict(), resumed["model"].state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full["history"]["loss"] == resumed["history"]["loss"]
    assert full["meta"]["val_mpe"] == resumed["meta"]["val_mpe"]
    with pytest.raises(ValueError, match="cannot resume"):
        train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False, resume=True)
    with pytest.raises(ValueError, match="exists"):
        train_autoencoder(cfg, "sigmoid", out_dir=tmp_path / "b", device="cpu", progress=False)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real, calls = losses.autoencoder_loss, []

    def poisoned(*args, **kw):
        loss, l = real(*args, **kw)
        calls.append(1)
        return (loss * float("nan"), l) if len(calls) == 3 else (loss, l)

    monkeypatch.setattr(losses, "autoencoder_loss", poisoned)
    with pytest.raises(NonFiniteLoss, match=r"nan at step 3.*last good checkpoint \(step 2\)"):
        train_autoencoder(tiny(), "linear", out_dir=tmp_path, device="cpu", progress=False)
    _, meta = load_autoencoder(tmp_path)
    assert meta["steps"] == 2


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no swao checkpoint"):
        load_autoencoder(tmp_path)
    (tmp_path / "text.safetensors").write_text("hello, I am not a checkpoint")
    with pytest.raises(ValueError, match="not a readable swao checkpoint"):
        load_autoencoder(tmp_path / "text.safetensors")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "pickle.pt")
    with pytest.raises(ValueError, match="not a readable swao checkpoint"):
        load_autoencoder(tmp_path / "pickle.pt")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="not a swao autoencoder checkpoint"):
        load_autoencoder(tmp_path / "foreign.safetensors")
    run = tmp_path / "run"
    train_autoencoder(tiny(train_mlps=32, checkpoint_every=2), "sigmoid", out_dir=run, device="cpu", progress=False)
    data = (run / "checkpoint.safetensors").read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_autoencoder(tmp_path / "truncated.safetensors")


def test_bad_parameters(tmp_path):
    cfg = tiny()
    kw = dict(out_dir=tmp_path, progress=False)
    for bad, match in [
        (dict(activation="relu"), "activation"),
        (dict(loss="max"), "loss must be one of"),
        (dict(loss="pnorm", p=0), "p > 0"),
        (dict(loss="pnorm", p=-1.0), "p > 0"),
        (dict(loss="pnorm"), "p > 0"),
        (dict(device="tpu"), "device"),
        (dict(mask_grad="soft"), "mask_grad"),
        (dict(steps=0), "steps"),
    ]:
        trained = {k: bad.pop(k) for k in ("activation", "loss", "p", "mask_grad") if k in bad}
        with pytest.raises(ValueError, match=match):
            train_autoencoder(cfg, autoencoder_spec(cfg, **{"activation": "sigmoid", **trained}), **kw, **bad)
    with pytest.raises(ValueError, match="trained must be an MLP type or an autoencoder_spec"):
        train_autoencoder(cfg, {"activation": "sigmoid"}, **kw)
    with pytest.raises(ValueError, match="unknown training option"):
        train_autoencoder(cfg, "sigmoid", mask_grad="none", **kw)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            train_autoencoder(cfg, "sigmoid", device="cuda", **kw)
    with pytest.raises(ValueError, match="multiple of 4"):
        train_autoencoder(get_config("smoke", batch_size=18), "sigmoid", device="cpu", **kw)
    with pytest.raises(ValueError, match="n_mlps_per_encoder"):
        evaluate_mpe(torch.nn.Identity(), "sigmoid", 0, seed=0)


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["--activation", "leaky_relu", "--scale", "smoke", "--steps", "2", "--batch-size", "16",
                     "--out", str(out), "--device", "cpu", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "trained 2 steps" in text and "D4" in text and "E4" in text
    assert cli_main(["--activation", "sigmoid", "--loss", "pnorm", "--p", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "p > 0" in capsys.readouterr().err
    assert cli_main(["--activation", "sigmoid", "--loss", "pnorm", "--out", str(tmp_path / "y")]) == 2
    assert cli_main(["--activation", "sigmoid", "--device", "tpu", "--out", str(tmp_path / "z")]) == 2
    with pytest.raises(SystemExit):
        cli_main(["--activation", "tanh"])
    assert cli_main(["--activation", "sigmoid", "--minutes", "0", "--out", str(tmp_path / "m")]) == 2
    assert "--minutes must be > 0" in capsys.readouterr().err


def test_the_cli_trains_the_scales_own_autoencoder(tmp_path, monkeypatch):
    from swao.cli import train as cli_train

    seen = {}
    monkeypatch.setattr(cli_train, "train_autoencoder", lambda config, trained, out, **kw: seen.update(
        {**trained, "config": config, **kw}) or {"meta": {"steps": 0, "total_steps": 0, "val_mpe": None},
                                                 "history": {"mlps_per_s": []}, "checkpoint": None, "stopped": False})
    for scale in ("smoke", "small", "paper"):
        assert cli_main(["--activation", "sigmoid", "--scale", scale, "--out", str(tmp_path / scale), "--no-progress"]) == 0
        assert seen["mask_grad"] == get_config(scale).mask_grad and seen["config"] == get_config(scale)
    cli_main(["--activation", "sigmoid", "--scale", "small", "--mask-grad", "none", "--minutes", "2", "--out", str(tmp_path / "x")])
    assert seen["mask_grad"] == "none" and seen["deadline"] > 0


@pytest.mark.parametrize("scale", ["smoke", "small", "paper"])
@pytest.mark.parametrize("argv, name", [([], "sigmoid-min"), (["--loss", "pnorm", "--p", "0.5"], "sigmoid-p0.5")])
def test_swao_train_and_the_book_train_the_same_autoencoder(tmp_path, monkeypatch, scale, argv, name):
    """``swao train --scale S`` trains what the book's autoencoder of scale S is (one cache key):
    both describe the run with :func:`swao.training.spec.autoencoder_spec`, and the CLI passes
    every part of it on to the training."""
    from swao.book.autoencoders import autoencoder_parts
    from swao.book.cache import cache_key
    from swao.cli import train as cli_train
    from swao.training.spec import autoencoder_spec

    seen = {}
    monkeypatch.setattr(cli_train, "train_autoencoder", lambda config, trained, out, **kw: seen.update(
        config=config, trained=trained) or {"meta": {"steps": 0, "total_steps": 0, "val_mpe": None},
                                            "history": {"mlps_per_s": []}, "checkpoint": None, "stopped": False})
    assert cli_main(["--activation", "sigmoid", "--scale", scale, *argv, "--out", str(tmp_path), "--no-progress"]) == 0
    cli = seen["trained"]
    assert cli == autoencoder_spec(seen["config"], cli["activation"], cli["loss"], cli["p"], cli["mask_grad"])
    book = autoencoder_parts(get_config(scale), name)
    assert cli == book and cache_key("autoencoder", **cli) == cache_key("autoencoder", **book)


def test_evaluate_mpe_is_a_4x4_table(tmp_path):
    torch.manual_seed(0)
    from swao.method.model import MultiScaleAutoencoder

    model = MultiScaleAutoencoder()
    t1 = evaluate_mpe(model, "linear", 3, seed=7)
    t2 = evaluate_mpe(model, "linear", 3, seed=7, chunk=2)
    assert len(t1) == 4 and all(len(r) == 4 for r in t1) and model.training
    assert torch.allclose(torch.tensor(t1), torch.tensor(t2), rtol=1e-4)
    from swao.training.evaluation import mpe_per_mlp

    per = mpe_per_mlp(model, "linear", 2, seed=7)  # default device: the model's
    assert per.shape == (4, 4, 2) and per.dtype == torch.float64 and not per.requires_grad  # no autograd graph


# ------------------------------------------------------------------ DDP (2 CPU processes, gloo)
def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world), GLOO_SOCKET_IFNAME="lo")
    res = train_autoencoder(tiny(val_every=100, checkpoint_every=3), "sigmoid", steps=3, device="cpu",
                            out_dir=os.path.join(out, "run"), progress=False)
    flat = torch.cat([p.detach().flatten() for p in res["model"].parameters()])
    torch.save(flat, os.path.join(out, f"rank{rank}.pt"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_replicas_hold_identical_weights(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert torch.equal(a, b)
    init = torch.cat([p.flatten() for p in load_autoencoder(tmp_path / "run")[0].parameters()])
    assert torch.equal(init, a)  # rank 0's checkpoint holds the same weights
    _, meta = load_autoencoder(tmp_path / "run")
    assert meta["world_size"] == 2 and meta["steps"] == 3


# ------------------------------------------------------------------ the CUDA path, checked on the CPU
class SyncPoints(TorchDispatchMode):
    """Records the ops that would stall the host on CUDA: reading a value back (``.item()``,
    ``bool(t)``), data-dependent shapes (``nonzero``, boolean indexing), and tensors made from
    Python lists (copied host-to-device with a blocking copy)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in ("_local_scalar_dense", "nonzero", "masked_select", "is_nonzero", "equal"):
            self.found.append(name)
        elif name == "lift_fresh" and args[0].dim() > 0:
            self.found.append(f"tensor from a Python list {tuple(args[0].shape)}")
        elif name in ("index", "index_put", "index_put_", "_index_put_impl_") and any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1]
        ):
            self.found.append(f"{name} with a boolean mask")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("amp", [False, True])
def test_a_training_step_has_no_host_sync_points(amp):
    # one step of the training loop (batch generation, targets, network, loss, backward, Adam)
    cfg = tiny()
    torch.manual_seed(0)
    model = MultiScaleAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = input_grid()
    step_loss(model, cfg, "sigmoid", 0, x, amp=amp)[0].backward()
    opt.step()  # Adam's state is created at the first step
    with SyncPoints() as probe:
        batch_loss, _ = step_loss(model, cfg, autoencoder_spec(cfg, "sigmoid", "pnorm", 0.5), 1, x, amp=amp)
        opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        opt.step()
    assert probe.found == []


def test_cuda_tf32_scope_sets_and_restores_the_flags():
    mm, conv = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    with cuda_tf32("cpu", True):  # CPU: nothing changes
        assert torch.get_float32_matmul_precision() == mm and torch.backends.cudnn.allow_tf32 == conv
    with cuda_tf32("cuda", True):  # the flags exist (and are inert) without CUDA
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        with cuda_tf32(torch.device("cuda", 0), False):
            assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert torch.get_float32_matmul_precision() == mm and torch.backends.cudnn.allow_tf32 == conv
    with pytest.raises(KeyError):
        with cuda_tf32("cuda", True):
            raise KeyError("restored on errors too")
    assert torch.get_float32_matmul_precision() == mm and torch.backends.cudnn.allow_tf32 == conv


def test_amp_keeps_the_loss_in_float32():
    cfg = tiny()
    torch.manual_seed(0)
    batch_loss, l = step_loss(MultiScaleAutoencoder(), cfg, "linear", 0, input_grid(), amp=True)
    assert batch_loss.dtype == l.dtype == torch.float32 and torch.isfinite(l).all()


# ------------------------------------------------------------------ CUDA (skipped without a GPU)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
@pytest.mark.parametrize("amp", [False, True])
def test_cuda_training_runs_and_restores_precision_flags(tmp_path, amp):
    flags = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    res = train_autoencoder(tiny(), "sigmoid", device="cuda", amp=amp, out_dir=tmp_path, progress=False, log_every=2)
    hist, meta = res["history"], res["meta"]
    assert len(hist["loss"]) >= 3 and all(torch.isfinite(torch.tensor(hist["loss"])))
    assert hist["step"][-1] == 6 and all(r > 0 for r in hist["mlps_per_s"])
    assert meta["tf32"] is True and meta["amp"] is amp and len(meta["val_mpe"]) == 4
    assert next(res["model"].parameters()).is_cuda
    assert (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32) == flags
    model, _ = load_autoencoder(tmp_path, device="cuda")
    assert next(model.parameters()).is_cuda


@cuda
def test_cuda_tf32_for_the_network_strict_float32_for_the_mlp_evaluation(tmp_path, monkeypatch):
    seen = {}

    def spy(name, fn):
        def wrapped(*args, **kw):
            if torch.is_grad_enabled():  # training steps, not validation (no_grad)
                seen.setdefault(name, set()).add(torch.backends.cuda.matmul.allow_tf32)
            return fn(*args, **kw)
        return wrapped

    monkeypatch.setattr(losses, "target_outputs", spy("targets", losses.target_outputs))
    monkeypatch.setattr(losses, "autoencoder_loss", spy("loss", losses.autoencoder_loss))
    monkeypatch.setattr(MultiScaleAutoencoder, "forward", spy("network", MultiScaleAutoencoder.forward))
    train_autoencoder(tiny(), "sigmoid", device="cuda", steps=2, out_dir=tmp_path / "a", progress=False)
    assert seen == {"targets": {False}, "loss": {False}, "network": {True}}
    seen.clear()
    train_autoencoder(tiny(), "sigmoid", device="cuda", steps=2, out_dir=tmp_path / "b", progress=False, tf32=False)
    assert seen == {"targets": {False}, "loss": {False}, "network": {False}}


@cuda
@pytest.mark.parametrize("amp", [False, True])
def test_cuda_training_step_makes_no_host_sync(amp):
    import warnings

    cfg = get_config("smoke", batch_size=256)
    torch.manual_seed(0)
    model = MultiScaleAutoencoder().cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = input_grid().cuda()

    def step(b):
        with cuda_tf32("cuda", True):
            batch_loss, l = step_loss(model, cfg, "sigmoid", b, x, amp=amp)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
        return batch_loss

    step(0), step(1)
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            batch_loss = step(2)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message)]
    assert syncs == [], syncs
    assert torch.isfinite(batch_loss).item()


@cuda
def test_cuda_train_batch_is_made_on_the_gpu():
    cfg = tiny(batch_size=64)
    padded, depth, counts = train_batch(cfg, "leaky_relu", 3, device="cuda")
    assert padded.is_cuda and depth.is_cuda and padded.shape == (64, 7, 33) and counts == (16,) * 4
    assert depth.tolist() == [1] * 16 + [2] * 16 + [3] * 16 + [4] * 16
    assert torch.equal(padded, train_batch(cfg, "leaky_relu", 3, device="cuda")[0])


@cuda
def test_cuda_checkpoint_round_trip(tmp_path):
    res = train_autoencoder(tiny(), "linear", device="cuda", steps=2, out_dir=tmp_path, progress=False)
    want = {k: v.cpu() for k, v in res["model"].state_dict().items()}
    for device in ("cuda", "cpu"):
        model, meta = load_autoencoder(tmp_path, device=device)
        assert meta["steps"] == 2 and all(p.device.type == device for p in model.parameters())
        assert all(torch.equal(v.cpu(), want[k]) for k, v in model.state_dict().items())
    state, _, optim = read_checkpoint(tmp_path, device="cuda", optimizer=True)
    assert all(v.is_cuda for v in state.values()) and optim["state"]
    opt = torch.optim.Adam(MultiScaleAutoencoder().cuda().parameters(), fused=True)
    opt.load_state_dict(optim)  # fused Adam wants its step counters on the GPU
    assert all(s["exp_avg"].is_cuda and s["step"].is_cuda for s in opt.state.values())
    cpu_model, _ = load_autoencoder(tmp_path, device="cpu")  # a CPU checkpoint loads on the GPU too
    save_checkpoint(tmp_path / "cpu.safetensors", cpu_model, None, {"mask_grad": "none"})
    gpu_model, _ = load_autoencoder(tmp_path / "cpu.safetensors", device="cuda")
    assert all(torch.equal(a.cpu(), b) for a, b in zip(gpu_model.state_dict().values(), cpu_model.state_dict().values()))


@cuda
def test_cuda_resume_after_a_kill(tmp_path):
    # not bit-exact on CUDA (non-deterministic kernels): the same schedule and data, close losses
    cfg = tiny()
    full = train_autoencoder(cfg, "sigmoid", device="cuda", out_dir=tmp_path / "a", progress=False, log_every=1)
    halted = train_autoencoder(cfg, "sigmoid", device="cuda", out_dir=tmp_path / "b", progress=False, log_every=1,
                               halt_at_step=3)
    assert halted["halted"] and read_checkpoint(tmp_path / "b")[1]["steps"] == 2
    resumed = train_autoencoder(cfg, "sigmoid", device="cuda", out_dir=tmp_path / "b", progress=False, log_every=1,
                                resume=True)
    assert resumed["meta"]["steps"] == 6 and full["history"]["step"] == resumed["history"]["step"]
    assert torch.allclose(torch.tensor(full["history"]["loss"]), torch.tensor(resumed["history"]["loss"]), rtol=1e-2)


def _cpu_and_gpu_copies() -> tuple[MultiScaleAutoencoder, MultiScaleAutoencoder]:
    """One freshly initialised autoencoder (seed 0), in eval mode, on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = MultiScaleAutoencoder().eval()
    gpu = MultiScaleAutoencoder().cuda().eval()
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu


@cuda
def test_cuda_evaluate_mpe_matches_cpu_and_fits_at_paper_size():
    cpu, gpu = _cpu_and_gpu_copies()
    with cuda_tf32("cuda", False):  # strict float32 convolutions too: no mask flips from TF32 rounding
        t_gpu = evaluate_mpe(gpu, "sigmoid", 8, seed=7)  # device: the model's
    t_cpu = evaluate_mpe(cpu, "sigmoid", 8, seed=7)
    assert torch.allclose(torch.tensor(t_gpu), torch.tensor(t_cpu), rtol=1e-2, atol=1e-2)
    torch.cuda.reset_peak_memory_stats()
    table = evaluate_mpe(gpu, "sigmoid", 1000, seed=10_000)  # the paper's 1,000 test MLPs per encoder
    assert len(table) == 4 and all(len(r) == 4 for r in table)
    assert torch.cuda.max_memory_allocated() < 8 * 2**30


@cuda
def test_cuda_embedding_quality_matches_cpu_and_fits_at_paper_size():
    from swao.ours.embedding import embedding_quality

    cpu, gpu = _cpu_and_gpu_copies()
    with cuda_tf32("cuda", False):
        a = embedding_quality(gpu, "leaky_relu", 60, seed=3)
    b = embedding_quality(cpu, "leaky_relu", 60, seed=3)  # the same pairs: drawn on the CPU
    assert torch.allclose(torch.tensor(a["f_dist"]), torch.tensor(b["f_dist"]), rtol=1e-4, atol=1e-5)
    assert torch.allclose(torch.tensor(a["z_dist"]), torch.tensor(b["z_dist"]), rtol=1e-3, atol=1e-4)
    assert abs(a["spearman"] - b["spearman"]) < 0.02
    torch.cuda.reset_peak_memory_stats()
    big = embedding_quality(gpu, "sigmoid", 2000, seed=30_000)  # the study's 2,000 pairs
    assert len(big["z_dist"]) == 2000 and -1 <= big["spearman"] <= 1
    assert torch.cuda.max_memory_allocated() < 8 * 2**30


def test_mpe_summary_matches_a_loop_reference():
    import statistics

    from swao.training.evaluation import mpe_summary

    g = torch.Generator().manual_seed(0)
    per = torch.rand(4, 4, 6, generator=g, dtype=torch.float64) * 100
    per[1, 2, 3] = 1e9  # one MLP whose near-zero outputs make eq. 7 explode
    s = mpe_summary(per)
    for e in range(4):
        for j in range(4):
            vals = per[e, j].tolist()
            assert s["table"][j][e] == pytest.approx(sum(vals) / len(vals))
            assert s["median_table"][j][e] == pytest.approx(statistics.median(vals))
        best = [min(per[e, j, i].item() for j in range(4)) for i in range(6)]
        assert s["best_mean"][e] == pytest.approx(sum(best) / 6)
        assert s["best_median"][e] == pytest.approx(statistics.median(best))
    assert s["table"][2][1] > 1e8 and s["median_table"][2][1] < 100  # the mean explodes, the median does not
    per[1, 2, 4] = 1000.0  # at the threshold: counted; just under it: not
    per[1, 2, 5] = 999.9
    counts = mpe_summary(per)["absurd_table"]
    assert counts[2][1] == 2 and sum(map(sum, counts)) == 2  # rows decoders, columns encoders, as "table"


def _rewrite_checkpoint(path, header=None, meta=None, state=None):
    """Rewrite a checkpoint with a changed header field, meta entries or model weights."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        head = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    head.update(header or {})
    if meta:
        head["meta"] = json.dumps({**json.loads(head["meta"]), **meta})
    if state:
        tensors.update(state)
    save_file(tensors, str(path), metadata=head)


@pytest.mark.parametrize("what, message", [("version", "unsupported checkpoint version '99'"),
                                           ("shape", "weights do not fit the autoencoder")])
def test_checkpoints_of_another_version_or_shape_are_refused(tmp_path, what, message):
    run = tmp_path / "run"
    train_autoencoder(tiny(train_mlps=32, checkpoint_every=2), "sigmoid", out_dir=run, device="cpu", progress=False)
    first = next(iter(read_checkpoint(run)[0]))  # the network's first weight, whatever its name
    change = {"version": dict(header={"version": "99"}), "shape": dict(state={f"model.{first}": torch.zeros(3, 3)})}[what]
    _rewrite_checkpoint(run / "checkpoint.safetensors", **change)
    with pytest.raises(ValueError, match=message):
        load_autoencoder(run)


@pytest.mark.parametrize("key, value", [("device_type", "cuda"), ("world_size", 2)])
def test_resume_refuses_another_device_type_or_world_size(tmp_path, key, value):
    cfg = tiny(train_mlps=32, checkpoint_every=2)
    train_autoencoder(cfg, "sigmoid", out_dir=tmp_path, device="cpu", progress=False, steps=1)
    _rewrite_checkpoint(tmp_path / "checkpoint.safetensors", meta={key: value})
    with pytest.raises(ValueError, match=f"cannot resume .*{key} was {value!r}"):
        train_autoencoder(cfg, "sigmoid", out_dir=tmp_path, device="cpu", progress=False, resume=True)


@pytest.mark.parametrize("scale, recipe", [("smoke", "ours"), ("small", "ours"), ("paper", "ours"), ("paper", "authors")])
def test_the_schedule_in_words_is_the_schedule_lr_at_runs(scale, recipe):
    """Page 03 prints Config.schedule_text(): it must say what lr_at does (the small scale's linear
    schedule once printed as "halved every 1 epoch(s)")."""
    from swao.training.train import lr_at

    config = get_config(scale, recipe=recipe)
    text = config.schedule_text()
    steps = range(0, config.total_steps, max(1, config.total_steps // 4000))
    rates = [lr_at(config, s) for s in steps]
    if config.schedule == "linear":
        assert "warm-up" in text and "decay" in text and "halved" not in text
        assert rates[0] < rates[len(rates) // 20 + 1] and rates[-1] < rates[len(rates) // 2]
    else:
        halvings = len(set(rates)) - 1
        assert "halved" in text and (f"{halvings} halving(s)" in text if halvings else "never" in text)
        assert all(b in (a, a / 2) for a, b in zip(rates, rates[1:]))


def test_training_compares_mlps_on_the_configs_grid(tmp_path):
    """``grid_points`` is a training field (the cache key holds it): the loss is computed on its grid."""
    from swao.training.train import Execution, start_run

    for points in (3, 10):
        cfg = tiny(grid_points=points)
        run = start_run(cfg, autoencoder_spec(cfg, "sigmoid"), tmp_path / str(points), Execution(device="cpu", progress=False))
        try:
            assert run.x.shape == (points**3, 3) and torch.equal(run.x, input_grid(points))
        finally:
            run.close()
