"""How near the matmul peak can the small step get with PyTorch's own convolutions? (issue 24)

The small step's FLOPs are mostly convolutions (the encoders' and decoders', plain and
transposed). This takes every convolution call of one training step of the small recipe, as the
step makes it (the same modules, inputs, memory layouts and per-depth batches, caught with
forward hooks), and times them alone, forward and backward, one after another on one thread:
the fastest the step's convolutions run through oneDNN with nothing else in the way. Beside it,
the whole step timed as ``benchmarks/small_step.py`` times it, and the one-thread fp32 matmul peak
of the same run. Two bounds on the whole step's fraction of the peak follow:

- *convs only*: the step's FLOPs over the convolutions' time alone, as if every other operator
  (the grid forward of eq. 3, the masks, the FC layers, the loss, Adam) took no time at all;
- *rest at peak*: the other FLOPs at the matmul peak, the convolutions at their measured speed.

Repeats take turns (the convolutions, then the step) and the best of each is kept.

    python benchmarks/conv_ceiling.py --batch-sizes 64 256 --repeats 5
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ae_throughput import machine, matmul_peak
from at_once import flops_per_mlp
from small_step import timed_steps
from swao.book.provenance import git_commit
from swao.method.generation import input_grid
from swao.method.model import MultiScaleAutoencoder
from swao.training.config import get_config
from swao.training.train import step_loss

CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def conv_calls(config) -> list[tuple[nn.Module, torch.Tensor, bool]]:
    """Every convolution call of one training step: ``(module, a copy of its input, whether the
    input needs a gradient in the step)``, in the order the step makes them."""
    torch.manual_seed(config.seed)
    model = MultiScaleAutoencoder(mask_grad=config.mask_grad, mask_bias=config.mask_bias, width=config.width)
    calls = []

    def hook(module, args):
        (x,) = args
        calls.append((module, x.detach().clone(memory_format=torch.preserve_format), x.requires_grad))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, CONVS)]
    step_loss(model, config, "sigmoid", 0, input_grid(), copy=config.copy_weight)
    for h in handles:
        h.remove()
    return calls


def run_convs(calls, grads) -> None:
    """The step's convolutions alone: each forward, then its backward (input and weight gradients)."""
    for (module, x, needs), g in zip(calls, grads):
        x = x.requires_grad_(needs)
        module(x).backward(g)


def conv_seconds(calls, grads, loops: int) -> float:
    """Seconds of one step's convolutions, the mean over ``loops`` after one warm-up loop."""
    run_convs(calls, grads)
    t0 = time.perf_counter()
    for _ in range(loops):
        run_convs(calls, grads)
    return (time.perf_counter() - t0) / loops


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--loops", type=int, default=20, help="timed steps' worth of convolutions (and whole steps) per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="the book's training threads per process (TRAIN_THREADS)")
    a = ap.parse_args(argv)
    if min(a.batch_sizes) < 4 or a.loops < 1 or a.repeats < 1 or a.threads < 1:
        raise SystemExit("--batch-sizes must be >= 4 (one MLP per depth); --loops, --repeats and --threads >= 1")
    torch.set_num_threads(a.threads)
    peak = matmul_peak(torch.device("cpu"))
    print(f"Machine: {machine()}; torch {torch.__version__}; commit {git_commit()}; {a.threads} thread(s); "
          f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; best of {a.repeats} repeats of {a.loops} steps\n")
    print("| batch | conv calls per step | convs' share of the step's FLOPs | convs alone: GFLOP/s | of the peak "
          "| convs' share of the step's time | the step: of the peak | bound: convs only | bound: rest at peak |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for bs in a.batch_sizes:
        config = get_config("small", batch_size=bs)
        calls = conv_calls(config)
        with torch.no_grad():
            grads = [torch.randn_like(m(x)) for m, x, _ in calls]
        with FlopCounterMode(display=False) as counter:
            run_convs(calls, grads)
        conv_flops = counter.get_total_flops()
        step_flops = flops_per_mlp(config) * bs
        convs, steps = [], []
        for _ in range(a.repeats):  # in turn within each repeat: a slow spell of the host hits both
            convs.append(conv_seconds(calls, grads, a.loops))
            steps.append(bs / timed_steps(config, a.loops, 3, "eager")[0])
        t_conv, t_step = min(convs), min(steps)
        rest = step_flops - conv_flops
        print(f"| {bs} | {len(calls)} | {conv_flops / step_flops:.0%} | {conv_flops / t_conv / 1e9:.1f} | "
              f"{conv_flops / t_conv / peak:.0%} | {t_conv / t_step:.0%} | {step_flops / t_step / peak:.0%} | "
              f"{step_flops / t_conv / peak:.0%} | {step_flops / (t_conv + rest / peak) / peak:.0%} |", flush=True)
        print(f"<!-- batch {bs}: convs {statistics.median(convs) * 1e3:.1f} ms median, step "
              f"{statistics.median(steps) * 1e3:.1f} ms median -->", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
