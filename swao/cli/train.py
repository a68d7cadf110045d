"""``swao train``: train one multi-scale autoencoder (Section 3.1) into a run directory.

Every value comes from the scale's config (:func:`swao.training.config.get_config`) unless a flag
overrides it, so that ``swao train --activation sigmoid --scale small`` trains the book's small
sigmoid-based min-loss autoencoder (the same :func:`swao.training.spec.autoencoder_spec`, the
book's cache key).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from swao.method import losses
from swao.method.activations import ACTIVATIONS
from swao.method.model import MASK_GRADS
from swao.method.representation import DEPTHS, MAX_DEPTH
from swao.training.config import SCALES, Config, get_config
from swao.training.evaluation import format_table
from swao.training.spec import autoencoder_spec
from swao.training.train import NonFiniteLoss, train_autoencoder


def _parser() -> argparse.ArgumentParser:
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
    ap.add_argument("--mask-grad", default=None, choices=MASK_GRADS,
                    help="the decoders' masks (default: the scale's own, as the book trains it)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="wall-clock budget of this segment: checkpoint and stop after it (continue with --resume)")
    ap.add_argument("--warm-start", default=None,
                    help="a weights-only snapshot of this run (bf16 safetensors) to continue from, with fresh Adam moments")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast for the network")
    ap.add_argument("--no-tf32", dest="tf32", action="store_false",
                    help="CUDA: strict float32 matmuls and convolutions in training (default: TF32)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the network")
    ap.add_argument("--cuda-graphs", action="store_true", help="torch.compile with mode='reduce-overhead'")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    return ap


def spec_of(args: argparse.Namespace) -> tuple[Config, dict]:
    """The run the arguments ask for: ``(config, spec)``, the spec built by
    :func:`swao.training.spec.autoencoder_spec` as the book builds its autoencoders' (every value
    the scale's config, unless a flag overrides it)."""
    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr), ("seed", args.seed)) if v is not None}
    config = get_config(args.scale, **overrides)
    return config, autoencoder_spec(config, args.activation, args.loss, args.p, args.mask_grad)


def cli_main(argv: list[str] | None = None) -> int:
    """``swao train --activation sigmoid [--loss min|pnorm --p 0.5] [--scale small] ...``"""
    args = _parser().parse_args(argv)
    try:
        config, spec = spec_of(args)
        p = spec["p"]
        if args.minutes is not None and not args.minutes > 0:
            raise ValueError(f"--minutes must be > 0, got {args.minutes}")
        deadline = None if args.minutes is None else time.time() + 60 * args.minutes
        tag = "min" if p is None else f"pnorm{p:g}"
        out = args.out or f"runs/ae-{args.activation}-{tag}-{args.scale}"
        t0 = time.perf_counter()
        result = train_autoencoder(
            config, spec, out, resume=args.resume, steps=args.steps, warm_start=args.warm_start,
            device=args.device, progress=not args.no_progress, amp=args.amp, compile=args.compile,
            cuda_graphs=args.cuda_graphs, threads=args.threads, tf32=args.tf32, deadline=deadline,
        )
    except (ValueError, FileNotFoundError, NonFiniteLoss) as err:
        print(f"swao train: error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        meta, hist = result["meta"], result["history"]
        rate = hist["mlps_per_s"][-1] if hist["mlps_per_s"] else float("nan")
        if result["stopped"]:
            print(f"stopped at the wall-clock budget after step {meta['steps']} of {meta['total_steps']}; "
                  f"continue with --resume --out {out}")
        print(f"trained {meta['steps']} steps in {time.perf_counter() - t0:.0f} s ({rate:.0f} MLPs/s); checkpoint {result['checkpoint']}")
        if meta["val_mpe"]:
            print(format_table(meta["val_mpe"], f"validation MPE (%), mean over {config.val_mlps // MAX_DEPTH} MLPs per encoder"))
            med = hist["val"][-1]["best_decoder_median"]
            print("  median over MLPs of the best decoder's MPE: " + "  ".join(f"E{L} {v:.1f}" for L, v in zip(DEPTHS, med)))
    return 0
