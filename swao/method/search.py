"""Search in the embedding space (Section 3.2, eq. 4-6), batched over decoders, datasets, restarts.

For a dataset ``(x, y)`` and a trained autoencoder, each decoder ``D_j`` gets its own embedding
``z ~ U[0, 1)^128`` and threshold ``t = 0``; Adam (lr 0.1 for ``z``, 0.01 for ``t``) minimises

* eq. 4 + 6:  ``loss = MSE(g_j(x), y) + lambda * sum_w [0.5 sigma(10(|w| - t)) + 0.1 |w|]``,
* eq. 5:      ``g_j`` is the MLP decoded from ``z`` with every weight switched ``w' = w sigma(100(|w| - t))``,

where ``w`` runs over the decoded weights *before* the switch (:mod:`swao.method.sparsity`) and
``lambda = (first-step MSE) / 7000`` is fixed per search. ``t`` is clamped to ``[0, 3]`` after
each step. Every (dataset, decoder, restart) triple runs in one batched optimisation
(:mod:`swao.method.optimise`, shared with the baselines); the MSE and its gradient come from one fused
pass (:mod:`swao.method.fused_mse`). Reported per triple: the state with the best validation loss as
an exported MLP, with its test MPE and non-zero count (:class:`swao.method.optimise.Result`).

The Table 2 experiment (Section 4.2), beside the baselines, is :mod:`swao.ours.table2`; the
``swao search`` command, :mod:`swao.cli.search`.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import torch
from torch import nn

from swao.method.activations import check_activation
from swao.method.generation import generator, random_mlps
from swao.method.model import EMBED_DIM
from swao.method.options import STARTS
from swao.method.optimise import Problem, Result, TripleData, finish, optimise
from swao.method.progress import step_reporter
from swao.method.representation import dead_layer
from swao.method.settings import PAPER, SearchBudget, SearchOptions

Z_LR = 0.1


# ---------------------------------------------------------------- the search
def encoded_starts(model: nn.Module, activation: str, depths: tuple[int, ...], n: int, seed: int,
                   pool: int = 1024) -> torch.Tensor:
    """Ours (``start="encoded"``): ``(len(depths), n, 128)`` starting embeddings taken from the
    embeddings of ``pool`` random MLPs of the type (all depths, drawn from ``seed``), for each
    decoder only those whose decoding has no dead layer (in a random order; repeated if fewer
    than ``n`` are alive; the whole pool if none is)."""
    gen = generator(seed)
    dev = next(model.parameters()).device
    with torch.no_grad():
        padded, depth = random_mlps(pool, activation, gen=gen)
        z = model.encode(padded.to(dev), depth.to(dev))
        starts = []
        for j in depths:
            alive = torch.nonzero(~dead_layer(model.decode_depth(z, j))).flatten().cpu()
            idx = alive if len(alive) else torch.arange(pool)
            idx = idx[torch.randperm(len(idx), generator=gen)]
            starts.append(z[idx.repeat(-(-n // len(idx)))[:n].to(dev)])
    return torch.stack(starts)


@contextmanager
def _mask_estimator(decoder, masks: str):
    """The decoder's masks during a search, whatever it was trained with: ``masks`` (a
    :class:`swao.method.settings.SearchOptions`' ``masks``, checked there), ``"none"`` (the
    paper's hard masks: no gradient reaches ``z`` through the 0/1 masks) or
    ``"straight_through"`` (ours: the sigmoid's gradient). The decoder's own setting comes back after."""
    if not hasattr(decoder, "mask_grad"):
        yield
        return
    before, decoder.mask_grad = decoder.mask_grad, masks
    try:
        yield
    finally:
        decoder.mask_grad = before


def search(decoder, datasets: list[dict], activation: str, budget: SearchBudget, options: SearchOptions = PAPER, *,
           z0: torch.Tensor | None = None, progress=False, workers: int | None = None) -> Result:
    """The search of Section 3.2 for every (dataset, decoder, restart) triple at once (eq. 4-6).

    ``decoder``: a :class:`swao.method.model.MultiScaleAutoencoder` or anything with
    ``decode_depth(z, j)`` (or a callable ``(z, j)``) returning masked matrices ``(N, H, 8j+1)``;
    its parameters stay fixed (only ``z`` and ``t`` get gradients). ``datasets``: dicts with
    ``x_train, y_train, x_valid, ..., y_test`` (as :func:`swao.method.generation.target_dataset`).
    ``budget`` (:class:`swao.method.settings.SearchBudget`): steps, restarts, decoders, seed,
    validation cadence. ``options`` (:class:`swao.method.settings.SearchOptions`, the paper's by
    default): ``start`` ``"uniform"`` (the paper: ``z ~ U[0, 1)``, drawn from the budget's seed) or
    ``"encoded"`` (ours, :func:`encoded_starts`: embeddings of random MLPs that decode alive);
    ``masks`` ``"none"`` (the paper's hard masks) or ``"straight_through"`` (ours); ``penalty``,
    what eq. 6 sums over (:func:`swao.method.sparsity.sparsity_penalty`); ``keep_layers`` (ours):
    after each step the threshold is held below :data:`swao.method.optimise.KEEP_FRACTION` of
    :func:`swao.method.sparsity.layer_floor`, so that it never cuts a whole layer (and the
    exported MLP never becomes a constant). ``z0 (len(depths), D, R, 128)`` overrides the start.
    ``workers``: threads over the decoders (see :func:`swao.method.optimise.optimise`); the
    result does not depend on it.
    """
    check_activation(activation)
    if not isinstance(budget, SearchBudget) or not isinstance(options, SearchOptions):
        raise TypeError(f"budget must be a SearchBudget and options a SearchOptions, got {type(budget).__name__} "
                        f"and {type(options).__name__}")
    depths, D, R = budget.depths, len(datasets), budget.restarts
    decode = getattr(decoder, "decode_depth", decoder)
    dev, dtype = torch.as_tensor(datasets[0]["x_train"]).device, torch.float32
    if isinstance(decoder, nn.Module):
        decoder.eval()
        dev, dtype = next(decoder.parameters()).device, next(decoder.parameters()).dtype
    nd = len(depths)
    if z0 is None and options.start == "encoded":
        if not hasattr(decoder, "encode"):
            raise ValueError("start='encoded' needs an autoencoder (with encode and decode_depth)")
        z0 = encoded_starts(decoder, activation, depths, D * R, budget.seed).reshape(nd, D, R, -1).cpu()
    if z0 is None:
        z0 = torch.rand(nd, D, R, EMBED_DIM, generator=torch.Generator().manual_seed(budget.seed))
    if z0.shape[:3] != (nd, D, R):
        raise ValueError(f"z0 must have shape ({nd}, {D}, {R}, dim), got {tuple(z0.shape)}")
    zs = [z.reshape(D * R, -1).to(dev, dtype).clone().requires_grad_(True) for z in z0]  # one leaf per decoder
    data = TripleData.build(datasets, R, dev, dtype)
    show = step_reporter(progress, "search", budget.steps)
    problem = Problem(lambda i: decode(zs[i], depths[i]), zs, Z_LR, penalty=options.penalty, keep_layers=options.keep_layers)
    begin = time.perf_counter()
    with _mask_estimator(decoder, options.masks):
        out = optimise(problem, data, activation, budget.steps, budget.eval_every, show, workers)
    return finish(out, data, activation, depths, D, R, time.perf_counter() - begin)


__all__ = ["search", "encoded_starts", "STARTS", "Z_LR"]
