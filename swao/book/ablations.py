"""The book's studies beyond the paper's tables: does the embedding order MLPs by function
(trained against untrained encoders), and the mask-gradient ablation (the sigmoid-based min-loss
autoencoder trained with both kinds of mask).
"""
from __future__ import annotations

from pathlib import Path

import torch

from swao.book.autoencoders import autoencoder, mpe_table
from swao.book.cache import cached
from swao.book.provenance import provenance
from swao.book.stages import MIN_LOSS, STAGES
from swao.method.activations import ACTIVATIONS
from swao.method.model import device_of
from swao.ours.embedding import embedding_quality
from swao.training.config import Config, network, resolve_device

def embedding_pairs(config: Config) -> int:
    """MLP pairs of the embedding study: twice the test MLPs, within [100, 2000]."""
    return max(100, min(2000, config.eval_mlps * 2))


def embedding_study(config: Config, device="cpu", recompute: bool = False) -> dict:
    """Rank correlation of embedding and functional distances, trained vs untrained encoder."""

    def compute(folder: Path) -> dict:
        n_pairs = embedding_pairs(config)
        out = {"provenance": provenance(resolve_device(device), config), "n_pairs": n_pairs, "types": {}}
        for act in ACTIVATIONS:
            model, _ = autoencoder(config, MIN_LOSS[act], device)
            with torch.random.fork_rng(devices=[]):  # the untrained one of the seed, the global RNG untouched
                torch.manual_seed(config.seed)
                untrained = network(config).to(device_of(model)).eval()
            out["types"][act] = {
                "trained": embedding_quality(model, act, n_pairs, seed=30_000 + config.seed, grid_points=config.grid_points),
                "untrained": embedding_quality(untrained, act, n_pairs, seed=30_000 + config.seed, grid_points=config.grid_points),
            }
        return out

    return cached("embedding", compute, recompute=recompute, config=config)


def mask_grad_study(config: Config, device="cpu", recompute: bool = False) -> dict:
    """The mask-gradient ablation: the sigmoid-based min-loss autoencoder trained with the
    authors' hard masks and with a straight-through estimator; test MPE tables of both."""

    def compute(folder: Path) -> dict:
        out = {"provenance": provenance(resolve_device(device), config), "variants": {}}
        for name, mg in STAGES["mask_grad"]:
            _, trained = autoencoder(config, name, device, mask_grad=mg)
            test = mpe_table(config, name, device, mask_grad=mg)
            out["variants"][mg] = {
                **{k: test[k] for k in ("table", "best_median", "best_mean")},
                "history": trained["history"],
                "train_seconds": trained["train_seconds"],
            }
        return out

    return cached("mask_grad", compute, recompute=recompute, config=config)


__all__ = ["embedding_pairs", "embedding_study", "mask_grad_study"]
