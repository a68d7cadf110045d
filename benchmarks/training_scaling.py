"""Does more training move the autoencoder towards the paper's Table 1? (issue 5's honesty check)

Trains the sigmoid-based min-loss autoencoder with the ``small`` config but ``--factor`` times
as many training MLPs (same epochs, batch, lr schedule), then scores it as the book's Table 1
does (``swao.experiments.mpe_table``: 200 test MLPs per encoder, seed 10,000) and prints the
validation curve and the test table beside the paper's. Minutes on a CPU: a factor of 8 is
960,000 MLP passes, about 20 minutes on 2 cores.

    python benchmarks/training_scaling.py --factor 8 [--out runs/scaling]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from swao.config import get_config, setup_run
from swao.tables import paper_tables
from swao.evaluation import format_table, mpe_per_mlp
from swao.train import train_autoencoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factor", type=int, default=8, help="training MLPs per epoch, as a multiple of small's")
    ap.add_argument("--out", default="runs/scaling")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.factor < 1:
        raise SystemExit("--factor must be >= 1")
    small = get_config("small")
    config, dev = setup_run("small", args.device, train_mlps=small.train_mlps * args.factor,
                            val_every=small.val_every * args.factor, checkpoint_every=small.checkpoint_every * args.factor)
    out = Path(args.out) / f"x{args.factor}"
    start = time.perf_counter()
    run = train_autoencoder(config, "sigmoid", loss="min", device=str(dev), out_dir=out, resume=True)
    seconds = time.perf_counter() - start
    per_mlp = mpe_per_mlp(run["model"], "sigmoid", small.eval_mlps, seed=10_000 + small.seed, device=dev)  # (E, D, n)
    table = per_mlp.mean(-1).T.tolist()
    best = per_mlp.min(1).values  # best decoder per MLP: (E, n)
    paper = paper_tables()["table1"]["blocks"]["min"]
    result = {
        "factor": args.factor, "mlp_passes": config.train_mlps * config.epochs, "train_seconds": seconds,
        "table": table, "best_decoder_mean": best.mean(-1).tolist(), "best_decoder_median": best.median(-1).values.tolist(),
        "val": run["history"]["val"], "torch_threads": torch.get_num_threads(),
    }
    (out / "scaling.json").write_text(json.dumps(result, indent=1))
    print(f"{result['mlp_passes']:,} MLP passes ({100 * result['mlp_passes'] / 12_800_000:.3g} % of the paper's), {seconds / 60:.1f} min")
    print(format_table(table, "test MPE (%), 200 MLPs per encoder"))
    print(format_table(paper, "paper, Table 1 (min loss)"))
    print("best decoder per MLP, per encoder: mean", [round(v, 1) for v in result["best_decoder_mean"]],
          "median", [round(v, 1) for v in result["best_decoder_median"]])
    for v in run["history"]["val"]:
        print(f"  step {v['step']:>5}: validation best-decoder mean {v['best_mean']:.1f} %, "
              f"medians {[round(m, 1) for m in v['best_decoder_median']]}")


if __name__ == "__main__":
    main()
