"""Training the multi-scale autoencoder (Section 3.1 "Training Multi-Scale Autoencoder", Section 4.1).

* Data: random sparse MLPs (appendix) generated on the fly on the training device. The epoch's
  training set is fixed by seeds: batch ``b`` of every epoch is the same set of MLPs (like the
  paper's fixed 3.2M set), made of ``batch_size / 4`` MLPs of each depth (stratified: the same
  depth distribution as the appendix's uniform draw, and static shapes for the multiplexer).
  Each DDP rank generates its own shard of each global batch (the set depends on the world size,
  and on the device type: CUDA and CPU random streams differ).
* Loss: eq. 3 (min) or eq. 2 (p-norm) over the 1,000-point grid (:mod:`swao.losses`).
* Optimiser: Adam with a step schedule (authors: lr 1e-4, batch 32, halved every 2 epochs). We
  train larger batches for throughput with a larger lr (see :mod:`swao.config`).
* Validation: MPE (eq. 7) on a fixed held-out set, per encoder (input depth) x decoder.
* Run directory: ``checkpoint.safetensors`` (model + Adam state, JSON metadata with the history;
  written atomically every ``checkpoint_every`` steps and at the end) and ``history.json``
  (loss, lr, MLPs/s per logged step; validation tables) for learning curves.
  The data of step ``s`` is a pure function of ``(seed, s)``, so the step counter is the only
  RNG state: a resumed run reaches the same weights, bit for bit on CPU, as an uninterrupted one.
  On CUDA it sees the same data and schedule, but cuDNN's and cuBLAS's kernels are not
  bit-deterministic, so the weights agree only to rounding (no RNG state needs saving: the
  initial weights come from the CPU generator, each batch from its own seeded generator).
* CUDA: the batches are generated on the GPU and a training step makes no host-device sync
  (losses are read back every ``log_every`` steps). ``tf32`` (default on): the steps run the
  network's float32 matmuls and convolutions in TF32; the MLP evaluation in the loss (targets
  and decoded MLPs) stays strict float32 in the forward pass, with or without ``amp``. CPU
  kernels are untouched by either setting.
* Scale-out: ``torchrun --nproc_per_node K -m swao.cli train ...`` runs DDP (gloo on CPU, nccl
  on CUDA); only rank 0 writes files. Checkpoints must be on a file system every rank sees.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

# libgomp threads spin ~300,000 times at each barrier before sleeping: on a shared CPU, several
# multi-threaded processes then stall each other (measured 40x slower on the 2-core machine).
# A short spin keeps the idle-machine speed (benchmarks/RESULTS.md). Takes effect only when this
# module is the first to import torch (the ``swao train`` CLI); the environment wins if set.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from . import losses  # noqa: E402
from .cache import write_json  # noqa: E402
from .config import SCALES, Config, get_config, resolve_device
from .forward import ACTIVATIONS, check_activation
from .generation import generator, input_grid, random_mlps
from .metrics import median, mpe
from .model import DEFAULT_MASK_GRAD, MASK_GRADS, MultiScaleAutoencoder, device_of
from .representation import DEPTHS, MAX_DEPTH

FORMAT = "swao-autoencoder"
FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.json"


def mix_seed(*parts) -> int:
    """A 63-bit seed from any parts (stable across runs and machines)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


# ---------------------------------------------------------------------------------- data
def train_batch(config: Config, activation: str, b: int, rank: int = 0, world: int = 1, device="cpu"):
    """Shard ``rank`` of global batch ``b`` (same in every epoch): ``(padded, depth, counts)``,
    sorted by depth with ``counts = (n, n, n, n)``, ``n = batch_size / (4 * world)``."""
    n = config.batch_size // (MAX_DEPTH * world)
    parts = [
        random_mlps(n, activation, seed=mix_seed(config.seed, "train", b, rank, world, L), depth=L, device=device)
        for L in DEPTHS
    ]
    return torch.cat([p for p, _ in parts]), torch.cat([d for _, d in parts]), (n,) * MAX_DEPTH


@contextlib.contextmanager
def cuda_tf32(device, enabled: bool = True):
    """Inside the block, CUDA float32 matmuls (cuBLAS) and convolutions (cuDNN) run in TF32 if
    ``enabled``, else in strict IEEE float32; the previous settings come back after. PyTorch's
    defaults are: matmuls strict, cuDNN convolutions TF32. Does nothing unless ``device`` is CUDA
    (CPU kernels never use TF32, and CPU results stay bit-identical)."""
    if torch.device(device).type != "cuda":
        yield
        return
    old_matmul, old_conv = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old_matmul)
        torch.backends.cudnn.allow_tf32 = old_conv


def step_loss(net: nn.Module, config: Config, activation: str, b: int, x: torch.Tensor, loss: str = "min",
              p: float | None = None, rank: int = 0, world: int = 1, amp: bool = False):
    """The loss of this rank's shard of global batch ``b``: ``(batch_loss, l (n, 4) detached)``.
    ``amp``: bf16 autocast around the network only. The MLP evaluation (targets and decoded
    MLPs) is float32, and on CUDA strict float32 (no TF32) whatever the caller's TF32 setting;
    its backward pass follows the caller's setting."""
    padded, depth, counts = train_batch(config, activation, b, rank, world, x.device)
    with cuda_tf32(x.device, False):
        y = losses.target_outputs(padded, depth, x, activation, counts)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        decoded = net(padded, depth, counts)
    with cuda_tf32(x.device, False):
        return losses.autoencoder_loss(decoded, y, x, activation, loss, p)


def lr_at(config: Config, step: int) -> float:
    """Step schedule: ``lr * 0.5 ** floor(epoch / lr_halve_epochs)`` (authors: halve every 2)."""
    return config.lr * 0.5 ** math.floor(step / (config.lr_halve_epochs * config.steps_per_epoch))


# ---------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def mpe_per_mlp(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None,
                chunk: int = 512) -> torch.Tensor:
    """Per-MLP MPE (eq. 7), ``(4 encoders, 4 decoders, n)`` float64 on the CPU: ``n`` random
    MLPs of each depth drawn from ``seed`` (on the CPU, so every device sees the same MLPs), each
    decoded by the 4 decoders. ``device``: where to compute (default: the model's device).
    Memory: ``chunk`` MLPs at a time (512 x 1,000 grid points: tens of MB)."""
    check_activation(activation)
    if not isinstance(n_mlps_per_encoder, int) or n_mlps_per_encoder < 1:
        raise ValueError(f"n_mlps_per_encoder must be a positive int, got {n_mlps_per_encoder!r}")
    model = getattr(model, "module", model)
    device = device_of(model) if device is None else resolve_device(device)
    was_training = model.training
    model.eval()
    x = input_grid().to(device)
    gen = generator(seed)
    out = torch.zeros(MAX_DEPTH, MAX_DEPTH, n_mlps_per_encoder, dtype=torch.float64)
    try:
        for e, L in enumerate(DEPTHS):
            padded, depth = random_mlps(n_mlps_per_encoder, activation, gen=gen, depth=L)
            padded, depth = padded.to(device), depth.to(device)
            for s in range(0, n_mlps_per_encoder, chunk):
                p, d = padded[s : s + chunk], depth[s : s + chunk]
                y = losses.target_outputs(p, d, x, activation)
                for j, g in enumerate(model(p, d)):
                    out[e, j, s : s + chunk] = mpe(losses.mlp_outputs(g.float(), x, activation), y).double().cpu()
    finally:
        model.train(was_training)
    return out


def evaluate_mpe(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None,
                 chunk: int = 512) -> list[list[float]]:
    """Table 1 / 3 of the paper: ``table[j][e]`` = mean over ``n_mlps_per_encoder`` random MLPs of
    depth ``e+1`` of the per-MLP MPE (eq. 7) of the MLP decoded by ``D_{j+1}`` (rows = decoders
    D1..D4, columns = encoders E1..E4). The MLPs are drawn from ``seed`` (same seed, same MLPs,
    on every device). ``device``: default the model's. Runs in the process's float32 settings
    (PyTorch's CUDA defaults: matmuls strict float32, cuDNN convolutions TF32).
    """
    return mpe_summary(mpe_per_mlp(model, activation, n_mlps_per_encoder, seed, device, chunk))["table"]


def mpe_summary(per_mlp: torch.Tensor) -> dict:
    """Per-MLP MPEs ``(4 encoders, 4 decoders, n)`` -> the Table 1 / 3 cell of the paper,
    ``table[j][e]``: the mean over the ``n`` MLPs (rows decoders, columns encoders), beside two
    views the paper lacks, robust to the few MLPs whose near-zero outputs make eq. 7 explode:
    ``median_table`` (the median over the MLPs) and, per encoder, the MPE of each MLP's best
    decoder, averaged (``best_mean``) and its median (``best_median``). Medians as NumPy's."""
    best = per_mlp.min(dim=1).values  # (E, n)
    return {
        "table": per_mlp.mean(-1).T.tolist(),
        "median_table": median(per_mlp).T.tolist(),
        "best_mean": best.mean(-1).tolist(),
        "best_median": median(best).tolist(),
    }


def format_table(table: list[list[float]], title: str = "validation MPE (%)") -> str:
    """The 4x4 table as text: rows D1..D4, columns E1..E4."""
    lines = [title, "      " + "".join(f"{'E' + str(L):>10}" for L in DEPTHS)]
    for j, row in enumerate(table):
        lines.append(f"  D{j + 1}  " + "".join(f"{v:10.4g}" for v in row))
    lines.append("  best" + "".join(f"{min(col):10.4g}" for col in zip(*table)))
    return "\n".join(lines)


def _val_summary(history: dict) -> float:
    """The progress bar's validation figure: median over MLPs of the best decoder's MPE."""
    if not history["val"]:
        return float("nan")
    v = history["val"][-1]["best_decoder_median"]
    return sum(v) / len(v)


def best_mean(table: list[list[float]]) -> float:
    """Mean over encoders of the best decoder's MPE (one number for a progress bar)."""
    return sum(min(col) for col in zip(*table)) / len(table[0])


# ---------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None, meta: dict) -> None:
    """Write ``model`` (+ Adam state) and ``meta`` as one safetensors file, atomically."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    extra = {}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for i, st in sd["state"].items():
            for k, v in st.items():
                tensors[f"optim.{i}.{k}"] = torch.as_tensor(v).detach().contiguous().cpu()
        extra["optim_param_groups"] = sd["param_groups"]
    header = {"format": FORMAT, "version": str(FORMAT_VERSION), "meta": json.dumps(meta), "extra": json.dumps(extra)}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata=header)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _checkpoint_path(path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no swao checkpoint at {path}")
    return path


def read_checkpoint(path, device="cpu", optimizer: bool = False) -> tuple[dict, dict, dict]:
    """``(model_state, meta, optim_state_or_{})`` from a checkpoint file or run directory.

    Never executes code from the file (safetensors + JSON). A truncated, corrupt or foreign
    file raises ``ValueError`` naming the file.
    """
    from safetensors import safe_open

    path = _checkpoint_path(path)
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            header = f.metadata() or {}
            keys = list(f.keys())
            if header.get("format") == FORMAT and header.get("version") == str(FORMAT_VERSION):
                meta, extra = json.loads(header["meta"]), json.loads(header["extra"])
                state = {k[6:]: f.get_tensor(k) for k in keys if k.startswith("model.")}
                optim: dict = {}
                if optimizer and "optim_param_groups" in extra:
                    st: dict = {}
                    for k in keys:
                        if k.startswith("optim."):
                            _, i, name = k.split(".", 2)
                            st.setdefault(int(i), {})[name] = f.get_tensor(k).cpu()
                    optim = {"state": st, "param_groups": extra["optim_param_groups"]}
    except Exception as err:  # safetensors' own errors (truncated header, bad offsets), bad JSON
        raise ValueError(f"{path} is not a readable swao checkpoint (truncated or corrupt?): {err}") from err
    if header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a swao autoencoder checkpoint (no '{FORMAT}' header)")
    if header.get("version") != str(FORMAT_VERSION):
        raise ValueError(f"{path}: unsupported checkpoint version {header.get('version')!r}")
    return state, meta, optim


def load_autoencoder(path, device="cpu") -> tuple[MultiScaleAutoencoder, dict]:
    """``(model, meta)`` from a checkpoint file or run directory, model in eval mode on ``device``.

    ``meta`` holds ``activation``, ``loss``, ``p``, ``mask_grad``, ``config`` (dict), ``steps``,
    ``total_steps``, ``val_mpe`` (the last 4x4 validation table, rows D1..D4, cols E1..E4).
    """
    device = resolve_device(device)
    state, meta, _ = read_checkpoint(path, device)
    model = MultiScaleAutoencoder(mask_grad=meta.get("mask_grad", DEFAULT_MASK_GRAD)).to(device)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit the autoencoder: {err}") from err
    return model.eval(), meta


# ---------------------------------------------------------------------------------- distributed
def _distributed(device: torch.device) -> tuple[int, int, int, bool]:
    """``(rank, world, local_rank, we_initialised)``; starts a process group under torchrun."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), False
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0, False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), True


# ---------------------------------------------------------------------------------- training
class NonFiniteLoss(FloatingPointError):
    pass


def train_autoencoder(
    config: Config,
    activation: str,
    loss: str = "min",
    p: float | None = None,
    device: str = "auto",
    out_dir: str | os.PathLike = "runs/autoencoder",
    mask_grad: str = DEFAULT_MASK_GRAD,
    progress: bool = True,
    resume: bool = False,
    steps: int | None = None,
    amp: bool = False,
    compile: bool = False,
    cuda_graphs: bool = False,
    threads: int | None = None,
    log_every: int | None = None,
    halt_at_step: int | None = None,
    tf32: bool = True,
) -> dict:
    """Train a multi-scale autoencoder; returns ``{"model", "meta", "history", "checkpoint"}``.

    ``config``: a :class:`swao.config.Config` (``train_mlps``, ``epochs``, ``batch_size``, ``lr``,
    ``lr_halve_epochs``, ``val_mlps``, ``val_every``, ``checkpoint_every``, ``seed``).
    ``loss``: ``"min"`` (eq. 3) or ``"pnorm"`` (eq. 2, needs ``p > 0``). ``steps``: stop after
    this many steps in all (default: ``config.total_steps``; the lr schedule is unchanged).
    ``resume``: continue from ``out_dir``'s checkpoint. ``amp``: bf16 autocast for the network
    (the MLP evaluation stays float32). ``compile`` / ``cuda_graphs``: ``torch.compile`` the
    network (``mode="reduce-overhead"`` for CUDA graphs). ``log_every``: steps between loss
    read-backs (device syncs; default 1 on CPU, 20 on CUDA). ``halt_at_step``: stop right after
    that step as if killed (no final checkpoint or validation; for resumption tests).
    ``tf32`` (CUDA only): the training steps run the network's float32 matmuls and convolutions
    in TF32 (``False``: strict float32); the process's settings are restored after each step, so
    validation and later evaluation keep them. The MLP evaluation in the loss is strict float32
    either way. CPU training ignores it.
    A NaN/Inf loss raises :class:`NonFiniteLoss` at the next read-back (every ``log_every``
    steps, and at validation and checkpoint steps); the last good checkpoint is kept.
    """
    check_activation(activation)
    p = losses.check_loss(loss, p)
    if mask_grad not in MASK_GRADS:
        raise ValueError(f"mask_grad must be one of {MASK_GRADS}, got {mask_grad!r}")
    if not isinstance(config, Config):
        raise ValueError(f"config must be a swao.config.Config, got {type(config).__name__}")
    dev = resolve_device(device)
    rank, world, local_rank, owns_group = _distributed(dev)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if config.batch_size % (MAX_DEPTH * world):
        raise ValueError(f"batch_size ({config.batch_size}) must be a multiple of 4 x world size ({world})")
    total = config.total_steps if steps is None else steps
    if not isinstance(total, int) or total < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if threads is not None:
        torch.set_num_threads(threads)
    elif dev.type == "cpu" and world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    log_every = log_every or (20 if dev.type == "cuda" else 1)
    out = Path(out_dir)
    ckpt = out / CHECKPOINT
    main = rank == 0

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(config.seed, "init"))
        model = MultiScaleAutoencoder(mask_grad=mask_grad)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=dev.type in ("cpu", "cuda"))
    meta = {
        "activation": activation, "loss": loss, "p": p, "mask_grad": mask_grad, "config": config.to_dict(),
        "steps": 0, "total_steps": total, "world_size": world, "device_type": dev.type, "amp": amp,
        "tf32": bool(tf32) if dev.type == "cuda" else None, "val_mpe": None,
        "torch": torch.__version__,
    }
    history: dict = {"step": [], "loss": [], "lr": [], "mlps_per_s": [], "decoder_loss": [], "val": []}

    if ckpt.exists() and not resume:
        raise ValueError(f"{ckpt} exists: pass resume=True (--resume) to continue it, or choose another out_dir")
    if resume and ckpt.exists():
        state, old, optim = read_checkpoint(ckpt, dev, optimizer=True)
        for key in ("activation", "loss", "p", "mask_grad", "config", "world_size", "device_type"):
            if old.get(key) != meta[key]:
                raise ValueError(f"cannot resume {ckpt}: {key} was {old.get(key)!r}, now {meta[key]!r}")
        model.load_state_dict(state)
        opt.load_state_dict(optim)
        meta.update(steps=old["steps"], val_mpe=old["val_mpe"])
        history = old["history"]
    start = meta["steps"]
    if main:
        out.mkdir(parents=True, exist_ok=True)

    net: nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        # oneDNN returns 1x1-conv weight grads with other strides on their size-1 dims: the same
        # memory layout, which DDP's stride check still reports. Harmless; silenced.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        net = DDP(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    if compile or cuda_graphs:
        net = torch.compile(net, mode="reduce-overhead" if cuda_graphs else None)
    x = input_grid().to(dev)
    val_seed = mix_seed(config.seed, "validation")

    def checkpoint(step: int) -> None:
        meta["steps"] = step
        if main:
            save_checkpoint(ckpt, model, opt, {**meta, "history": history})
            write_json(out / HISTORY, history)

    def validate(step: int) -> None:
        per = mpe_per_mlp(model, activation, max(1, config.val_mlps // MAX_DEPTH), val_seed, dev)
        table = per.mean(-1).T.tolist()
        best = per.min(1).values  # (encoder, MLP): MPE of each MLP's best decoder
        meta["val_mpe"] = table
        history["val"].append({"step": step, "mpe": table, "best_mean": best_mean(table),
                               "best_decoder_median": median(best).tolist()})

    bar = None
    if progress and main:
        from .progress import bar as progress_bar

        bar = progress_bar(total, f"train {activation}/{loss}" + (f" p={p:g}" if loss == "pnorm" else ""), initial=start)
    pending: list[tuple[torch.Tensor, torch.Tensor]] = []
    t_train, n_seen, last_good = 0.0, 0, start

    def read_back(step: int) -> None:
        if not pending:
            return
        vals = torch.stack([lv for lv, _ in pending]).float().cpu()
        dls = torch.stack([dl for _, dl in pending]).float().cpu()
        finite = torch.isfinite(vals).all()
        if world > 1:  # every rank must stop at the same step, or the others hang in all-reduce
            import torch.distributed as dist

            flag = torch.tensor([float(finite)], device=dev if dev.type == "cuda" else "cpu")
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            finite = bool(flag.item())
        if not finite:
            bad = [i for i, v in enumerate(vals.tolist()) if not math.isfinite(v)]
            where = f"became {vals[bad[0]].item()} at step {step - len(pending) + 1 + bad[0]}" if bad else "is not finite on another rank"
            kept = f"the last good checkpoint (step {last_good}) is kept at {ckpt}" if ckpt.exists() else "no checkpoint had been written yet"
            raise NonFiniteLoss(f"the loss {where}: training stopped; {kept}")
        rate = n_seen / t_train if t_train > 0 else float("nan")
        history["step"].append(step)
        history["loss"].append(float(vals.mean()))
        history["lr"].append(lr_at(config, step - 1))
        history["mlps_per_s"].append(rate)
        history["decoder_loss"].append(dls.mean(0).tolist())
        pending.clear()
        if bar is not None:
            val = _val_summary(history)
            bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", val_mpe=f"{val:.3g}", mlps_s=f"{rate:.0f}", refresh=False)

    try:
        for step in range(start, total):
            t0 = time.perf_counter()
            b = step % config.steps_per_epoch
            for g in opt.param_groups:
                g["lr"] = lr_at(config, step)
            done = step + 1
            at_end = done == total
            with cuda_tf32(dev, tf32):
                batch_loss, l = step_loss(net, config, activation, b, x, loss, p, rank, world, amp)
                pending.append((batch_loss.detach(), l.mean(0)))
                if done % log_every == 0 or at_end or done % config.val_every == 0 or done % config.checkpoint_every == 0:
                    read_back(done)  # before the update: a NaN/Inf loss read back never reaches the weights
                opt.zero_grad(set_to_none=True)
                batch_loss.backward()
                opt.step()
            if dev.type == "cuda" and done % log_every == 0:
                torch.cuda.synchronize(dev)
            t_train += time.perf_counter() - t0
            n_seen += config.batch_size
            if bar is not None:
                bar.update(1)
            if halt_at_step is not None and done >= halt_at_step:
                return {"model": model, "meta": meta, "history": history, "checkpoint": ckpt, "halted": True}
            if done % config.val_every == 0 or at_end:
                validate(done)
                if bar is not None:
                    bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", val_mpe=f"{_val_summary(history):.3g}",
                                    mlps_s=f"{history['mlps_per_s'][-1]:.0f}")
            if done % config.checkpoint_every == 0 or at_end:
                checkpoint(done)
                last_good = done
    finally:
        if bar is not None:
            bar.close()
        if owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    meta["steps"] = total
    return {"model": model, "meta": meta, "history": history, "checkpoint": ckpt, "halted": False}


# ---------------------------------------------------------------------------------- CLI
def cli_main(argv: list[str] | None = None) -> int:
    """``swao train --activation sigmoid [--loss min|pnorm --p 0.5] [--scale small] ...``"""
    ap = argparse.ArgumentParser(prog="swao train", description="Train a multi-scale autoencoder (Section 3.1).")
    ap.add_argument("--activation", required=True, choices=ACTIVATIONS)
    ap.add_argument("--loss", default="min", choices=losses.LOSSES, help="min (eq. 3) or pnorm (eq. 2)")
    ap.add_argument("--p", type=float, default=None, help="p of the p-norm loss (> 0)")
    ap.add_argument("--scale", default="small", choices=SCALES)
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    ap.add_argument("--out", default=None, help="run directory (default runs/ae-ACT-LOSS-SCALE)")
    ap.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps in all")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--mask-grad", default=DEFAULT_MASK_GRAD, choices=MASK_GRADS)
    ap.add_argument("--amp", action="store_true", help="bf16 autocast for the network")
    ap.add_argument("--no-tf32", dest="tf32", action="store_false",
                    help="CUDA: strict float32 matmuls and convolutions in training (default: TF32)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the network")
    ap.add_argument("--cuda-graphs", action="store_true", help="torch.compile with mode='reduce-overhead'")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr), ("seed", args.seed)) if v is not None}
        config = get_config(args.scale, **overrides)
        p = losses.check_loss(args.loss, args.p)
        tag = "min" if p is None else f"pnorm{p:g}"
        out = args.out or f"runs/ae-{args.activation}-{tag}-{args.scale}"
        t0 = time.perf_counter()
        result = train_autoencoder(
            config, args.activation, loss=args.loss, p=args.p, device=args.device, out_dir=out,
            mask_grad=args.mask_grad, progress=not args.no_progress, resume=args.resume, steps=args.steps,
            amp=args.amp, compile=args.compile, cuda_graphs=args.cuda_graphs, threads=args.threads,
            tf32=args.tf32,
        )
    except (ValueError, FileNotFoundError, NonFiniteLoss) as err:
        print(f"swao train: error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        meta, hist = result["meta"], result["history"]
        rate = hist["mlps_per_s"][-1] if hist["mlps_per_s"] else float("nan")
        print(f"trained {meta['steps']} steps in {time.perf_counter() - t0:.0f} s ({rate:.0f} MLPs/s); checkpoint {result['checkpoint']}")
        if meta["val_mpe"]:
            print(format_table(meta["val_mpe"], f"validation MPE (%), mean over {config.val_mlps // MAX_DEPTH} MLPs per encoder"))
            med = hist["val"][-1]["best_decoder_median"]
            print("  median over MLPs of the best decoder's MPE: " + "  ".join(f"E{L} {v:.1f}" for L, v in zip(DEPTHS, med)))
    return 0


if __name__ == "__main__":
    sys.exit(cli_main())
