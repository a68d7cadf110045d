"""Scale-out of the autoencoder's training: DDP under ``torchrun`` (gloo on CPU, nccl on CUDA).

``torchrun --nproc_per_node K -m swao.cli train ...`` starts K ranks; each generates its own
shard of every global batch (:func:`swao.training.train.train_batch`), only rank 0 writes files.
Without ``torchrun`` every function here is the single-process identity.
"""
from __future__ import annotations

import os
import warnings

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP


def start(device: torch.device, threads: int | None) -> tuple[int, int, torch.device, bool]:
    """``(rank, world, device, we_started_the_group)``: joins (or starts, under torchrun) the
    process group, pins a CUDA rank to its local GPU and shares the CPU threads among ranks."""
    owns = False
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        rank, world, owns = dist.get_rank(), dist.get_world_size(), True
    else:
        rank, world = 0, 1
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    elif device.type == "cpu" and world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    return rank, world, device, owns


def wrap(model: nn.Module, device: torch.device, world: int) -> nn.Module:
    """``model`` under DistributedDataParallel when there is more than one rank."""
    if world <= 1:
        return model
    # oneDNN returns 1x1-conv weight grads with other strides on their size-1 dims: the same
    # memory layout, which DDP's stride check still reports. Harmless; silenced.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


def all_true(flag: bool, device: torch.device, world: int) -> bool:
    """``flag`` on every rank (so that all ranks stop at the same step, or the others hang)."""
    if world <= 1:
        return flag
    t = torch.tensor([float(flag)], device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def stop(owns: bool) -> None:
    """Ends the process group if :func:`start` began it."""
    if owns:
        dist.destroy_process_group()


__all__ = ["start", "wrap", "all_true", "stop"]
