"""Autoencoder training at smoke scale: the loss falls, resumption is bit-exact, DDP replicas agree,
NaN stops cleanly, checkpoints are safe to load, bad parameters give clear errors."""
import json
import os
import socket

import pytest
import torch

from swao import losses
from swao.config import get_config
from swao.train import (
    NonFiniteLoss, cli_main, evaluate_mpe, load_autoencoder, read_checkpoint, train_autoencoder, train_batch,
)


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


def test_batches_are_fixed_by_seed_and_stratified():
    cfg = tiny()
    a, da, counts = train_batch(cfg, "sigmoid", b=3)
    b, db, _ = train_batch(cfg, "sigmoid", b=3)
    c, _, _ = train_batch(cfg, "sigmoid", b=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert counts == (4, 4, 4, 4) and da.tolist() == [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4


def test_resume_after_a_kill_gives_the_same_weights(tmp_path):
    cfg = tiny()  # 6 steps, checkpoints at 2, 4, 6
    full = train_autoencoder(cfg, "sigmoid", loss="pnorm", p=0.5, out_dir=tmp_path / "a", device="cpu", progress=False)
    halted = train_autoencoder(cfg, "sigmoid", loss="pnorm", p=0.5, out_dir=tmp_path / "b", device="cpu",
                               progress=False, halt_at_step=3)  # "killed" after step 3; last checkpoint: step 2
    assert halted["halted"] and read_checkpoint(tmp_path / "b")[1]["steps"] == 2
    resumed = train_autoencoder(cfg, "sigmoid", loss="pnorm", p=0.5, out_dir=tmp_path / "b", device="cpu",
                                progress=False, resume=True)
    sa, sb = full["model"].state_dict(), resumed["model"].state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full["history"]["loss"] == resumed["history"]["loss"]
    assert full["meta"]["val_mpe"] == resumed["meta"]["val_mpe"]
    with pytest.raises(ValueError, match="cannot resume"):
        train_autoencoder(cfg, "sigmoid", loss="min", out_dir=tmp_path / "b", device="cpu", progress=False, resume=True)
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
        args = {"config": cfg, "activation": "sigmoid", **kw, **bad}
        with pytest.raises(ValueError, match=match):
            train_autoencoder(**args)
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


def test_evaluate_mpe_is_a_4x4_table(tmp_path):
    torch.manual_seed(0)
    from swao.model import MultiScaleAutoencoder

    model = MultiScaleAutoencoder()
    t1 = evaluate_mpe(model, "linear", 3, seed=7)
    t2 = evaluate_mpe(model, "linear", 3, seed=7, chunk=2)
    assert len(t1) == 4 and all(len(r) == 4 for r in t1) and model.training
    assert torch.allclose(torch.tensor(t1), torch.tensor(t2), rtol=1e-4)


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_training_runs(tmp_path):
    res = train_autoencoder(tiny(), "sigmoid", device="cuda", amp=True, out_dir=tmp_path, progress=False)
    assert all(torch.isfinite(torch.tensor(res["history"]["loss"])))
    model, _ = load_autoencoder(tmp_path, device="cuda")
    assert next(model.parameters()).is_cuda
