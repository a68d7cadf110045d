"""Training the multi-scale autoencoder (Section 3.1 "Training Multi-Scale Autoencoder", Section 4.1).

* Data: random sparse MLPs (appendix) generated on the fly on the training device. The epoch's
  training set is fixed by seeds: batch ``b`` of every epoch is the same set of MLPs (like the
  paper's fixed 3.2M set), made of ``batch_size / 4`` MLPs of each depth (stratified: the same
  depth distribution as the appendix's uniform draw, and static shapes for the multiplexer).
  Each DDP rank generates its own shard of each global batch (the set depends on the world size,
  and on the device type: CUDA and CPU random streams differ).
* Loss: eq. 3 (min) or eq. 2 (p-norm) over the 1,000-point grid (:mod:`swao.method.losses`).
* Optimiser: Adam; the learning rate follows the config's ``schedule`` (:func:`lr_at`): the
  paper's kind, halved every ``lr_halve_epochs`` (authors: lr 1e-4, batch 32, halved every 2
  epochs; we train larger batches with a larger lr), or ours, a linear warm-up and decay (the
  small scale's). See :mod:`swao.training.config`.
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
* Scale-out: ``torchrun --nproc_per_node K -m swao.cli train ...`` runs DDP (:mod:`swao.training.distributed`);
  only rank 0 writes files. Checkpoints must be on a file system every rank sees.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import torch
from torch import nn

from swao.method import losses
from swao.training import distributed
from swao.training.checkpoint import CHECKPOINT, HISTORY, read_checkpoint, read_snapshot, save_checkpoint, write_json
from swao.training.config import DEFAULTS, LINEAR_WARMUP, TRAINING_FIELDS, Config, cuda_tf32, network, resolve_device
from swao.training.diagnostics import table1_view
from swao.training.evaluation import best_mean, validation_mlps
from swao.training.spec import as_spec
from swao.method.generation import authors_batch, input_grid, mix_seed, random_mlps
from swao.method.progress import bar as progress_bar
from swao.method.representation import DEPTHS, MAX_DEPTH


# ---------------------------------------------------------------------------------- the data and the loss of a step
def train_batch(config: Config, activation: str, b: int, rank: int = 0, world: int = 1, device="cpu"):
    """The autoencoder's training data: shard ``rank`` of global batch ``b``
    (the same in every epoch, a pure function of ``(config.seed, b, rank, world)``):
    ``(padded, depth, counts)``, sorted by depth with ``counts = (n, n, n, n)``,
    ``n = batch_size / (4 * world)``. With ``config.batches == "authors"``: the step's MLPs as the
    authors' code draws them (:func:`swao.method.generation.authors_batch`, drawn on the CPU), in
    their order (``counts`` ``None``: depths mixed); one process only."""
    if config.batches == "authors":
        if world != 1:
            raise ValueError(f"batches='authors' trains in one process (the authors' loop), got a world size of {world}")
        padded, depth = authors_batch(config.batch_size, activation, mix_seed(config.seed, "authors", b))
        return padded.to(device), depth.to(device), None
    n = config.batch_size // (MAX_DEPTH * world)
    parts = [
        random_mlps(n, activation, seed=mix_seed(config.seed, "train", b, rank, world, L), depth=L, device=device)
        for L in DEPTHS
    ]
    return torch.cat([p for p, _ in parts]), torch.cat([d for _, d in parts]), (n,) * MAX_DEPTH


def step_loss(net: nn.Module, config: Config, trained: str | dict, b: int, x: torch.Tensor,
              shard: tuple[int, int] = (0, 1), amp: bool = False, copy: float = 0.0):
    """The loss of one shard (``(rank, world)``) of global batch ``b`` for what is ``trained``
    (:func:`swao.training.spec.as_spec`: the MLP type, eq. 2 or 3 and its ``p``):
    ``(batch_loss, l (n, 4) detached)``. ``amp``: bf16 autocast around the network only. The MLP evaluation (targets and decoded
    MLPs) is float32, and on CUDA strict float32 (no TF32) whatever the caller's TF32 setting;
    its backward pass follows the caller's setting. ``copy > 0`` adds that times
    :func:`swao.method.losses.copy_loss` (ours; :func:`copy_weight_at`)."""
    spec, (rank, world) = as_spec(config, trained), shard
    activation = spec["activation"]
    padded, depth, counts = train_batch(config, activation, b, rank, world, x.device)
    with cuda_tf32(x.device, False):
        y = losses.target_outputs(padded, depth, x, activation, counts)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        decoded = net(padded, depth, counts)
    with cuda_tf32(x.device, False):
        batch_loss, l = losses.autoencoder_loss(decoded, y, x, activation, spec["loss"], spec["p"], config.loss_scale)
    if copy > 0:
        batch_loss = batch_loss + copy * losses.copy_loss(decoded, padded, counts)
    return batch_loss, l


def lr_at(config: Config, step: int) -> float:
    """The learning rate of (0-based) ``step``. ``"step"`` (the paper's kind): ``lr * 0.5 **
    floor(epoch / lr_halve_epochs)`` (authors: halve every 2). ``"linear"`` (ours): a linear
    warm-up over the first 5 % of ``config.total_steps``, then a linear decay to 0 at the end."""
    if config.schedule == "linear":
        total = config.total_steps
        warm = max(1, round(LINEAR_WARMUP * total))
        return config.lr * min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm)))
    return config.lr * 0.5 ** math.floor(step / (config.lr_halve_epochs * config.steps_per_epoch))


def norms_frozen(config: Config, step: int) -> bool:
    """Whether (0-based) ``step`` trains in eval mode: from the end of epoch ``norm_frozen_after``
    on (the authors' code: their validation after the first epoch calls ``eval()``, and nothing
    calls ``train()`` again), the shortcuts' BatchNorm use their running statistics, frozen."""
    return bool(config.norm_frozen_after) and step >= config.norm_frozen_after * config.steps_per_epoch


def copy_weight_at(config: Config, step: int) -> float:
    """``config.copy_weight``, annealed linearly to 0 at ``copy_until`` of the run (ours)."""
    end = config.copy_until * config.total_steps
    return config.copy_weight * max(0.0, 1 - step / end) if config.copy_weight else 0.0


# ---------------------------------------------------------------------------------- training
class NonFiniteLoss(FloatingPointError):
    pass


@dataclass(frozen=True)
class Execution:
    """How a run is executed, not what it learns (none of these enters the results' cache key
    except through the device type). ``amp``: bf16 autocast for the network (the MLP evaluation
    stays float32). ``tf32`` (CUDA only): the network's float32 matmuls and convolutions in TF32
    (``False``: strict float32); the MLP evaluation in the loss is strict float32 either way.
    ``compile`` / ``cuda_graphs``: ``torch.compile`` the network (``mode="reduce-overhead"``).
    ``log_every``: steps between loss read-backs (device syncs; default 1 on CPU, 20 on CUDA).
    ``deadline``: a wall-clock time (``time.time()`` seconds): the first step that starts after it
    is the last; it writes a checkpoint and stops the run (``"stopped": True``); ``resume`` continues it, bit for
    bit on CPU (a run in segments: ``swao train --minutes M``). ``halt_at_step``: stop right after
    that step as if killed (no final checkpoint or validation; ``"halted": True``; for the
    resumption tests)."""

    device: str = "auto"
    progress: bool = True
    amp: bool = False
    tf32: bool = True
    compile: bool = False
    cuda_graphs: bool = False
    threads: int | None = None
    log_every: int | None = None
    deadline: float | None = None
    halt_at_step: int | None = None

    @classmethod
    def of(cls, switches: dict) -> "Execution":
        """The options named in ``switches``, the others at their defaults; an unknown name is refused."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(switches) - set(names))
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; allowed: {names}")
        return cls(**switches)


def _loss_record(pending: list, step: int, world: int, dev: torch.device, ckpt: Path, last_good: int) -> tuple[float, list]:
    """Mean loss and per-decoder losses of the steps since the last read-back; raises
    :class:`NonFiniteLoss` (on every rank at once under DDP) if one is NaN/Inf."""
    vals = torch.stack([lv for lv, _ in pending]).float().cpu()
    dls = torch.stack([dl for _, dl in pending]).float().cpu()
    finite = distributed.all_true(bool(torch.isfinite(vals).all()), dev, world)
    if not finite:
        bad = [i for i, v in enumerate(vals.tolist()) if not math.isfinite(v)]
        where = f"became {vals[bad[0]].item()} at step {step - len(pending) + 1 + bad[0]}" if bad else "is not finite on another rank"
        kept = f"the last good checkpoint (step {last_good}) is kept at {ckpt}" if ckpt.exists() else "no checkpoint had been written yet"
        raise NonFiniteLoss(f"the loss {where}: training stopped; {kept}")
    return float(vals.mean()), dls.mean(0).tolist()


def validation_record(model: nn.Module, config: Config, activation: str, step: int, dev: torch.device) -> dict:
    """Validation MPE (eq. 7) on the run's fixed held-out MLPs: the 4x4 table of means, its best
    row averaged, and per encoder the median and mean over MLPs of each MLP's best decoder, the
    share of near-constant best decodings and their median correlation with the target
    (:func:`swao.training.diagnostics.table1_view`: one pass over the MLPs)."""
    view = table1_view(model, activation, *validation_mlps(config), dev)
    return {"step": step, "mpe": view["table"], "best_mean": best_mean(view["table"]),
            "best_decoder_median": view["best_median"], "best_decoder_mean": view["best_mean"],
            "near_constant_share": view["near_constant_share"], "median_correlation": view["median_correlation"],
            "dead_decoders": view["dead_decoders"]}


def _check_same_run(old: dict, meta: dict, config: Config, what: str, bitwise: bool) -> None:
    """Refuse to continue a run recorded as ``old`` under other settings: the activation, loss,
    mask gradient and the config's training fields (the search's sizes may differ); for a
    bit-exact resume also the world size and device type. ``ValueError`` naming the first difference."""
    now = {**meta, "config": config.training_dict()}
    # a field added since the run was written reads as its default (the run trained without it)
    old = {**old, "config": {k: old.get("config", {}).get(k, DEFAULTS.get(k)) for k in TRAINING_FIELDS}}
    keys = ("activation", "loss", "p", "mask_grad", "config") + (("world_size", "device_type") if bitwise else ())
    for key in keys:
        if old.get(key) != now[key]:
            raise ValueError(f"cannot {what}: {key} was {old.get(key)!r}, now {now[key]!r}")


WARMUP_STEPS = 100  # the learning rate's linear warm-up after a warm start from a weights-only snapshot


def warm_factor(meta: dict, step: int) -> float:
    """The learning rate's factor at ``step`` after the run's last warm start (fresh Adam moments
    from a weights-only snapshot: :func:`swao.training.checkpoint.save_snapshot`): a linear warm-up over
    ``warmup_steps``; 1 for a run that never restarted that way."""
    starts = [r for r in meta.get("warm_starts", []) if r["step"] <= step]
    if not starts:
        return 1.0
    return min(1.0, (step - starts[-1]["step"] + 1) / starts[-1]["warmup_steps"])


def _postfix(history: dict) -> dict:
    """The progress bar's figures: loss, MLPs/s and the validation median over encoders."""
    val = history["val"][-1]["best_decoder_median"] if history["val"] else [float("nan")]
    return dict(loss=f"{history['loss'][-1]:.4g}", val_mpe=f"{sum(val) / len(val):.3g}", mlps_s=f"{history['mlps_per_s'][-1]:.0f}")


# ---------------------------------------------------------------------------------- a run: its state, its step, its loop
class TrainResult(TypedDict):
    """What :func:`train_autoencoder` returns: the trained model, the run's record (``meta``, with
    the config and the steps done), its ``history``, the checkpoint's path, and how it ended
    (``halted``: at ``halt_at_step``, as if killed; ``stopped``: at the deadline, checkpointed)."""
    model: nn.Module
    meta: dict
    history: dict
    checkpoint: Path
    halted: bool
    stopped: bool


@dataclass
class Run:
    """One training run's state, in one place: what is trained (``spec``,
    :func:`swao.training.spec.autoencoder_spec`) and how (``opts``), the model, the network that
    steps (``net``: the model wrapped for DDP or compiled), the optimiser, the run's record
    (``meta``, ``history``), and the bookkeeping of the loop (losses not yet read back, training
    time, MLPs seen, the last step checkpointed)."""

    config: Config
    spec: dict
    opts: Execution
    out: Path
    dev: torch.device
    rank: int
    world: int
    owns_group: bool
    model: nn.Module
    net: nn.Module
    opt: torch.optim.Optimizer
    meta: dict
    history: dict
    total: int
    log_every: int
    x: torch.Tensor
    bar: object = None
    pending: list = field(default_factory=list)  # (loss, per-decoder losses) not yet read back
    t_train: float = 0.0
    n_seen: int = 0
    last_good: int = 0

    @property
    def ckpt(self) -> Path:
        return self.out / CHECKPOINT

    @property
    def main(self) -> bool:
        return self.rank == 0

    def result(self, halted: bool = False, stopped: bool = False) -> TrainResult:
        return {"model": self.model, "meta": self.meta, "history": self.history, "checkpoint": self.ckpt,
                "halted": halted, "stopped": stopped}

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        distributed.stop(self.owns_group)


@dataclass(frozen=True)
class Due:
    """What a step does besides its update: read its loss back (``log``), validate, write a
    checkpoint (``save``), end the run at the deadline (``stop``)."""
    log: bool
    validate: bool
    save: bool
    stop: bool


def start_run(config: Config, spec: dict, out_dir: str | os.PathLike, opts: Execution, steps: int | None = None,
              resume: bool = False, warm_start: str | os.PathLike | None = None) -> Run:
    """A run's state (:class:`Run`): fresh (the config's seeded initial weights), resumed from
    ``out_dir``'s checkpoint (weights, Adam state and record: bit for bit), or warm-started from a
    weights-only snapshot (weights and record, fresh Adam moments, a learning-rate warm-up)."""
    rank, world, dev, owns_group = distributed.start(resolve_device(opts.device), opts.threads)
    if config.batch_size % (MAX_DEPTH * world):
        raise ValueError(f"batch_size ({config.batch_size}) must be a multiple of 4 x world size ({world})")
    total = config.total_steps if steps is None else steps
    if not isinstance(total, int) or total < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    out = Path(out_dir)
    ckpt = out / CHECKPOINT
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(config.seed, "init"))
        model = network(config, spec["mask_grad"])
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=dev.type in ("cpu", "cuda"))
    meta = {
        "activation": spec["activation"], "loss": spec["loss"], "p": spec["p"], "mask_grad": spec["mask_grad"],
        "config": config.to_dict(), "steps": 0, "total_steps": total, "world_size": world, "device_type": dev.type,
        "amp": opts.amp, "tf32": bool(opts.tf32) if dev.type == "cuda" else None, "val_mpe": None,
        "torch": torch.__version__,
    }
    history: dict = {"step": [], "loss": [], "lr": [], "mlps_per_s": [], "decoder_loss": [], "val": []}
    if ckpt.exists() and not resume:
        raise ValueError(f"{ckpt} exists: pass resume=True (--resume) to continue it, or choose another out_dir")
    if resume and ckpt.exists():
        state, old, optim = read_checkpoint(ckpt, dev, optimizer=True)
        _check_same_run(old, meta, config, f"resume {ckpt}", bitwise=True)
        model.load_state_dict(state)
        opt.load_state_dict(optim)
        meta.update(steps=old["steps"], val_mpe=old["val_mpe"], warm_starts=old.get("warm_starts", []))
        history = old["history"]
    elif warm_start is not None:
        state, old = read_snapshot(warm_start, dev)
        _check_same_run(old, meta, config, f"warm-start from {warm_start}", bitwise=False)
        model.load_state_dict(state)  # bf16 -> the parameters' float32
        warm = {"step": old["steps"], "warmup_steps": WARMUP_STEPS, "snapshot": str(warm_start),
                "snapshot_dtype": old.get("snapshot_dtype"), "from_commit": old.get("commit")}
        meta.update(steps=old["steps"], val_mpe=old["val_mpe"], warm_starts=[*old.get("warm_starts", []), warm])
        history = old["history"]
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    net = distributed.wrap(model, dev, world)
    if opts.compile or opts.cuda_graphs:
        net = torch.compile(net, mode="reduce-overhead" if opts.cuda_graphs else None)
    bar = None
    if opts.progress and rank == 0:
        name = f"train {spec['activation']}/{spec['loss']}" + (f" p={spec['p']:g}" if spec["loss"] == "pnorm" else "")
        bar = progress_bar(total, name, initial=meta["steps"])
    return Run(config=config, spec=spec, opts=opts, out=out, dev=dev, rank=rank, world=world, owns_group=owns_group,
               model=model, net=net, opt=opt, meta=meta, history=history, total=total,
               log_every=opts.log_every or (20 if dev.type == "cuda" else 1), x=input_grid(config.grid_points).to(dev), bar=bar,
               last_good=meta["steps"])


def due_after(run: Run, done: int) -> Due:
    """What step ``done`` (1-based) does besides its update (:class:`Due`)."""
    at_end = done == run.total
    validate = done % run.config.val_every == 0 or at_end
    stop = run.opts.deadline is not None and time.time() >= run.opts.deadline and not at_end
    save = done % run.config.checkpoint_every == 0 or at_end or stop
    return Due(log=done % run.log_every == 0 or validate or save, validate=validate, save=save, stop=stop)


def record_loss(run: Run, done: int, lr: float) -> None:
    """Read back the losses since the last read-back into the history (:class:`NonFiniteLoss` if
    one is NaN/Inf), with the learning rate and MLPs/s so far."""
    mean_loss, decoder_loss = _loss_record(run.pending, done, run.world, run.dev, run.ckpt, run.last_good)
    run.pending.clear()
    h = run.history
    h["step"].append(done)
    h["loss"].append(mean_loss)
    h["lr"].append(lr)
    h["mlps_per_s"].append(run.n_seen / run.t_train if run.t_train > 0 else float("nan"))
    h["decoder_loss"].append(decoder_loss)
    if run.bar is not None:
        run.bar.set_postfix(**_postfix(h), refresh=False)


def train_step(run: Run, step: int, due: Due) -> None:
    """One update at (0-based) ``step``: the mode (eval once the norms are frozen), the learning
    rate, the loss of the step's batch, its read-back where due (before the update: a NaN/Inf loss
    never reaches the weights), backward and Adam."""
    t0 = time.perf_counter()
    config, spec = run.config, run.spec
    run.model.train(not norms_frozen(config, step))
    lr = lr_at(config, step) * warm_factor(run.meta, step)
    for g in run.opt.param_groups:
        g["lr"] = lr
    with cuda_tf32(run.dev, run.opts.tf32):
        batch_loss, l = step_loss(run.net, config, spec, step % config.steps_per_epoch, run.x, (run.rank, run.world),
                                  run.opts.amp, copy_weight_at(config, step))
        run.pending.append((batch_loss.detach(), l.mean(0)))
        if due.log:
            record_loss(run, step + 1, lr)
        run.opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        run.opt.step()
    if run.dev.type == "cuda" and (step + 1) % run.log_every == 0:
        torch.cuda.synchronize(run.dev)
    run.t_train += time.perf_counter() - t0
    run.n_seen += config.batch_size
    if run.bar is not None:
        run.bar.update(1)


def validate_if_due(run: Run, done: int, due: Due) -> None:
    """The validation record (:func:`validation_record`) after step ``done``, where due."""
    if due.validate:
        run.history["val"].append(validation_record(run.model, run.config, run.spec["activation"], done, run.dev))
        run.meta["val_mpe"] = run.history["val"][-1]["mpe"]
        if run.bar is not None:
            run.bar.set_postfix(**_postfix(run.history))


def checkpoint_if_due(run: Run, done: int, due: Due) -> None:
    """The checkpoint (model, Adam, record; atomic) and ``history.json`` after step ``done``, where due."""
    if due.save:
        run.meta["steps"] = done
        if run.main:
            save_checkpoint(run.ckpt, run.model, run.opt, {**run.meta, "history": run.history})
            write_json(run.out / HISTORY, run.history)
        run.last_good = done


def run_training(config: Config, spec: dict, out_dir: str | os.PathLike, opts: Execution, steps: int | None = None,
                 resume: bool = False, warm_start: str | os.PathLike | None = None) -> TrainResult:
    """The training loop: what is trained is ``spec`` (:func:`swao.training.spec.autoencoder_spec`),
    how it runs is ``opts`` (:class:`Execution`); :func:`train_autoencoder` documents the rest. One
    step after another: its update, then its validation and checkpoint where due; it ends at the
    last step, at the deadline (checkpointed, ``stopped``) or at ``opts.halt_at_step`` (as if killed)."""
    run = start_run(config, spec, out_dir, opts, steps, resume, warm_start)
    try:
        for step in range(run.meta["steps"], run.total):
            done = step + 1
            due = due_after(run, done)
            train_step(run, step, due)
            if opts.halt_at_step is not None and done >= opts.halt_at_step:
                return run.result(halted=True)
            validate_if_due(run, done, due)
            checkpoint_if_due(run, done, due)
            if due.stop:
                return run.result(stopped=True)
    finally:
        run.close()
    run.meta["steps"] = run.total
    return run.result()


def train_autoencoder(config: Config, trained: str | dict, out_dir: str | os.PathLike = "runs/autoencoder",
                      resume: bool = False, steps: int | None = None, warm_start: str | os.PathLike | None = None,
                      **how) -> TrainResult:
    """Train a multi-scale autoencoder (:class:`TrainResult`): :func:`run_training` with how it
    runs given as keywords.

    ``config``: a :class:`swao.training.config.Config` (``train_mlps``, ``epochs``, ``batch_size``, ``lr``,
    ``lr_halve_epochs``, ``val_mlps``, ``val_every``, ``checkpoint_every``, ``seed``).
    ``trained``: what is trained, an :func:`swao.training.spec.autoencoder_spec` (the MLP type,
    ``"min"`` (eq. 3) or ``"pnorm"`` (eq. 2) and its ``p``, the decoders' mask gradient), or just
    an MLP type (the min loss, the config's masks). ``steps``: stop after this many steps in all
    (default: ``config.total_steps``; the lr schedule is unchanged). ``resume``: continue from
    ``out_dir``'s checkpoint. ``warm_start``: a weights-only snapshot
    (:func:`swao.training.checkpoint.save_snapshot`) of a run of this recipe, for a new machine
    where the full checkpoint is not: its weights (upcast), step and history, fresh Adam moments,
    and a linear learning-rate warm-up over :data:`WARMUP_STEPS` (recorded in
    ``meta["warm_starts"]``). Not bit-exact; ``out_dir`` must hold no checkpoint.
    ``how``: the fields of :class:`Execution`, how to run (``device="cpu"``,
    ``progress=False``, ``amp=True``, ``threads=2``, ``deadline=...``, ``halt_at_step=...``).
    A NaN/Inf loss raises :class:`NonFiniteLoss` at the next read-back (every ``log_every``
    steps, and at validation and checkpoint steps); the last good checkpoint is kept.
    """
    return run_training(config, as_spec(config, trained), out_dir, Execution.of(how), steps, resume, warm_start)
