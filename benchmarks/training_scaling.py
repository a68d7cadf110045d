"""How far does compute explain the gap? The scaling study (issue 16).

Trains the sigmoid-based min-loss autoencoder with the ``small`` config (its recipe, batch and
schedule) but ``factor`` times its training MLPs per epoch, for each of ``--factors``, and scores
each as the book's Table 1 does (``eval_mlps`` test MLPs per encoder, seed 10,000): the table's
cells, the per-MLP best decoder's median and mean per encoder, and the collapse views of
:mod:`swao.diagnostics`, beside the floors on the same MLPs and the paper's Table 1 (12.8 M MLP
passes). Each factor is written to ``--out`` as soon as it is done (a stopped run keeps what it
finished, and a rerun skips the factors already there). The book plots it (``plots.plot_scaling``).

    python benchmarks/training_scaling.py --factors 0.25,0.5,1,2,4 --out results/scaling/sigmoid-min.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # as swao's CLI: see swao/train.py

import torch  # noqa: E402

from swao import diagnostics  # noqa: E402
from swao.cache import provenance, write_json  # noqa: E402
from swao.config import get_config  # noqa: E402
from swao.evaluation import mpe_per_mlp, mpe_summary  # noqa: E402
from swao.tables import paper_tables  # noqa: E402
from swao.train import train_autoencoder  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="0.25,0.5,1,2,4", help="training MLPs per epoch, as multiples of small's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        factors = [float(f) for f in a.factors.split(",")]
    except ValueError:
        raise SystemExit(f"--factors must be comma-separated numbers, got {a.factors!r}") from None
    if not factors or any(not f > 0 for f in factors):
        raise SystemExit(f"--factors must be > 0, got {a.factors!r}")
    torch.set_num_threads(a.threads)
    small = get_config("small")
    out = Path(a.out)
    study = json.loads(out.read_text()) if out.exists() else {
        "command": "python benchmarks/training_scaling.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "autoencoder": "sigmoid-min", "eval_mlps": small.eval_mlps, "paper_mlp_passes": 12_800_000,
        "paper_table1_min": paper_tables()["table1"]["blocks"]["min"],
        "floors": diagnostics.floors("sigmoid", small.eval_mlps, 10_000 + small.seed), "runs": []}
    done = {r["factor"] for r in study["runs"]}
    for f in factors:
        if f in done:
            continue
        n = max(small.batch_size, round(small.train_mlps * f / small.batch_size) * small.batch_size)
        config = small.replace(train_mlps=n, val_every=10**9, checkpoint_every=10**9)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run = train_autoencoder(config, "sigmoid", out_dir=tmp, mask_grad=small.mask_grad, device="cpu")
            seconds = time.perf_counter() - t0
        model = run["model"].eval()
        summary = mpe_summary(mpe_per_mlp(model, "sigmoid", small.eval_mlps, seed=10_000 + small.seed))
        study["runs"].append({"factor": f, "steps": config.total_steps, "mlp_passes": config.total_steps * config.batch_size,
                              "train_seconds": seconds, **summary,
                              **diagnostics.collapse(model, "sigmoid", small.eval_mlps, 10_000 + small.seed),
                              "provenance": provenance("cpu", config)})
        study["runs"].sort(key=lambda r: r["factor"])
        write_json(out, study)
        print(f"[scaling] x{f:g}: {config.total_steps} steps in {seconds:.0f} s; best-decoder medians "
              f"{[round(v, 1) for v in summary['best_median']]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
