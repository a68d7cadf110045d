"""The MPE evaluation of Tables 1 and 3 (Section 4.1): every encoder x decoder on fresh MLPs.

Each test MLP of depth ``e+1`` goes through encoder ``E_{e+1}`` and all four decoders; each
decoded MLP is scored against the input MLP by eq. 7 (:func:`swao.method.metrics.mpe`) on the
1,000-point grid. ``table[j][e]`` is the paper's cell: the mean over the MLPs.
"""
from __future__ import annotations

import torch
from torch import nn

from swao.method import losses
from swao.method.activations import check_activation
from swao.training.config import resolve_device
from swao.method.forward import forward
from swao.method.generation import generator, input_grid, mix_seed, random_mlps
from swao.method.metrics import median, mpe
from swao.method.model import device_of
from swao.method.representation import DEPTHS, MAX_DEPTH


def test_mlps(activation: str, n_mlps_per_encoder: int, seed: int):
    """The test MLPs of one table, ``(padded, depth)`` for depth 1..4 in turn: ``n`` of each depth,
    drawn on the CPU from one generator seeded ``seed`` (so every device sees the same MLPs)."""
    gen = generator(seed)
    for L in DEPTHS:
        yield random_mlps(n_mlps_per_encoder, activation, gen=gen, depth=L)


TEST_SEED_OFFSET = 10_000  # the test MLPs' seeds sit this far from the run's seed: apart from training and validation


def test_seed(seed: int) -> int:
    """The seed of the test MLPs of Tables 1 / 3 (:func:`test_mlps`) for a run seeded ``seed``."""
    return TEST_SEED_OFFSET + seed


def validation_mlps(config) -> tuple[int, int]:
    """The run's fixed held-out MLPs, as :func:`test_mlps` draws them: ``(n per encoder, seed)``,
    from ``config.val_mlps`` (split over the four depths) and a seed of their own."""
    return max(1, config.val_mlps // MAX_DEPTH), mix_seed(config.seed, "validation")


def _check_count(n_mlps_per_encoder) -> None:
    if not isinstance(n_mlps_per_encoder, int) or n_mlps_per_encoder < 1:
        raise ValueError(f"n_mlps_per_encoder must be a positive int, got {n_mlps_per_encoder!r}")


@torch.no_grad()
def decodings(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None, chunk: int = 512):
    """The one pass every view of an autoencoder's test MLPs reads: each test MLP of
    :func:`test_mlps` through its encoder and the 4 decoders, ``chunk`` MLPs at a time (512 x
    1,000 grid points: tens of MB). Yields ``(e, start, y, decoded, preds)`` per chunk: encoder
    index, the chunk's first MLP, the targets ``(c, P)``, the 4 decoded matrices and their
    outputs ``(4, c, P)`` on the grid. The model is in eval mode during the pass. ``device``:
    where to compute (default: the model's)."""
    check_activation(activation)
    _check_count(n_mlps_per_encoder)
    model = getattr(model, "module", model)
    device = device_of(model) if device is None else resolve_device(device)
    was_training = model.training
    model.eval()
    x = input_grid().to(device)
    try:
        for e, (padded, depth) in enumerate(test_mlps(activation, n_mlps_per_encoder, seed)):
            padded, depth = padded.to(device), depth.to(device)
            for s in range(0, n_mlps_per_encoder, chunk):
                p, d = padded[s : s + chunk], depth[s : s + chunk]
                y = losses.target_outputs(p, d, x, activation)
                decoded = model(p, d)
                yield e, s, y, decoded, torch.stack([forward(g.float(), x, activation) for g in decoded])
    finally:
        model.train(was_training)


def per_decoder_mpe(preds: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-MLP MPE (eq. 7) of each decoder's outputs ``preds (4, n, P)`` against ``y (n, P)``: ``(4, n)`` float64."""
    return torch.stack([mpe(p, y) for p in preds]).double()


def mpe_per_mlp(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None,
                chunk: int = 512) -> torch.Tensor:
    """Per-MLP MPE (eq. 7), ``(4 encoders, 4 decoders, n)`` float64 on the CPU: ``n`` random
    MLPs of each depth drawn from ``seed`` (on the CPU, so every device sees the same MLPs), each
    decoded by the 4 decoders (:func:`decodings`)."""
    _check_count(n_mlps_per_encoder)
    out = torch.zeros(MAX_DEPTH, MAX_DEPTH, n_mlps_per_encoder, dtype=torch.float64)
    for e, s, y, _, preds in decodings(model, activation, n_mlps_per_encoder, seed, device, chunk):
        out[e, :, s : s + len(y)] = per_decoder_mpe(preds, y).cpu()
    return out


ABSURD_MPE = 1000.0  # an MLP's MPE (%) at or above this: its output comes near zero on the grid (eq. 7 divides by it)


def mpe_summary(per_mlp: torch.Tensor) -> dict:
    """Per-MLP MPEs ``(4 encoders, 4 decoders, n)`` -> the Table 1 / 3 cell of the paper,
    ``table[j][e]``: the mean over the ``n`` MLPs (rows decoders, columns encoders), beside two
    views the paper lacks, robust to the few MLPs whose near-zero outputs make eq. 7 explode:
    ``median_table`` (the median over the MLPs) and, per encoder, the MPE of each MLP's best
    decoder, averaged (``best_mean``) and its median (``best_median``); ``absurd_table``, in the
    table's layout, counts the MLPs whose own MPE is at least :data:`ABSURD_MPE` % (the few that
    make a mean cell meaningless). Medians as NumPy's."""
    best = per_mlp.min(dim=1).values  # (E, n)
    return {
        "table": per_mlp.mean(-1).T.tolist(),
        "absurd_table": (per_mlp >= ABSURD_MPE).sum(-1).T.tolist(),
        "median_table": median(per_mlp).T.tolist(),
        "best_mean": best.mean(-1).tolist(),
        "best_median": median(best).tolist(),
    }


def evaluate_mpe(model: nn.Module, activation: str, n_mlps_per_encoder: int, seed: int, device=None,
                 chunk: int = 512) -> list[list[float]]:
    """Table 1 / 3 of the paper: ``table[j][e]`` = mean over ``n_mlps_per_encoder`` random MLPs of
    depth ``e+1`` of the per-MLP MPE (eq. 7) of the MLP decoded by ``D_{j+1}`` (rows = decoders
    D1..D4, columns = encoders E1..E4). The MLPs are drawn from ``seed`` (same seed, same MLPs,
    on every device). ``device``: default the model's. Runs in the process's float32 settings
    (PyTorch's CUDA defaults: matmuls strict float32, cuDNN convolutions TF32).
    """
    return mpe_summary(mpe_per_mlp(model, activation, n_mlps_per_encoder, seed, device, chunk))["table"]


def best_cells(table: list[list[float]]) -> list[float]:
    """Per encoder (column), the lowest decoder (row) value of a Table 1/3 block."""
    return [min(row[e] for row in table) for e in range(len(table[0]))]


def best_mean(table: list[list[float]]) -> float:
    """Mean over encoders of the best decoder's cell (one number for a progress bar)."""
    return sum(best_cells(table)) / len(table[0])


def format_table(table: list[list[float]], title: str = "validation MPE (%)") -> str:
    """The 4x4 table as text: rows D1..D4, columns E1..E4."""
    lines = [title, "      " + "".join(f"{'E' + str(L):>10}" for L in DEPTHS)]
    for j, row in enumerate(table):
        lines.append(f"  D{j + 1}  " + "".join(f"{v:10.4g}" for v in row))
    lines.append("  best" + "".join(f"{min(col):10.4g}" for col in zip(*table)))
    return "\n".join(lines)
