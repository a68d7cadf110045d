"""Ours, beyond the paper: the MLP matrix's permutation symmetry, and one canonical matrix per
function's orbit.

Permuting the neurons of a hidden layer ``l`` -- the columns of ``B_l``, the entries of the mask
``m_l`` and, with them, the rows of the next block ``B_{l+1}`` (or of ``b_out`` for the last
layer) -- leaves the function unchanged (eq. 1), so one function has up to ``7!^L`` matrices,
which a convolutional encoder treats as different inputs. :func:`canonical_order` picks one of
them by a deterministic sort of each layer's neurons, layer by layer from the input side:

* active neurons (mask 1) first;
* then by the norm of the neuron's incoming weights, largest first (the rows of ``B_l`` are the
  previous layer's neurons, already in canonical order, or the fixed inputs for ``l = 1``);
* ties broken by the incoming weights themselves, compared entry by entry (lexicographic);
* then, for neurons whose incoming weights are identical (in a sparse MLP, often all zero), by
  their outgoing weights sorted by value (a key the next layer's order does not change).

Two neurons still tie only when their mask, incoming weights and sorted outgoing weights are
identical; for the book's random MLPs that leaves neurons identical in the matrix too (e.g. two
unconnected ones) or outgoing weights of equal values sent to different neurons (measure zero),
so every member of an orbit gets the same canonical matrix. The decoders' outputs need no
canonical order: the autoencoder's loss compares functions (eq. 2, 3), never matrices.
"""
from __future__ import annotations

import torch

from swao.method.representation import DEPTHS, H, check_batch, join_matrix, split_matrix

__all__ = ["neuron_order", "permute_layer", "canonical_order", "canonical_batch"]


def neuron_order(incoming: torch.Tensor, mask: torch.Tensor, outgoing: torch.Tensor) -> torch.Tensor:
    """The canonical order of one hidden layer's neurons: ``incoming (..., H_in, H)`` (column
    ``k``: neuron ``k``'s incoming weights), ``mask (..., H)``, ``outgoing (..., H, H_out)`` (row
    ``k``: neuron ``k``'s outgoing weights) -> ``(..., H)`` indices (new position -> old neuron).
    Successive stable sorts, least significant key first."""
    order = torch.arange(H, device=mask.device).expand(mask.shape).contiguous()

    def by(key: torch.Tensor, descending: bool = False) -> None:
        nonlocal order
        order = order.gather(-1, key.gather(-1, order).sort(dim=-1, descending=descending, stable=True).indices)

    out_sorted = outgoing.sort(dim=-1).values  # invariant to the next layer's order
    for r in reversed(range(out_sorted.shape[-1])):
        by(out_sorted[..., r])
    for r in reversed(range(incoming.shape[-2])):  # lexicographic on the incoming weights
        by(incoming[..., r, :])
    by(incoming.norm(dim=-2), descending=True)
    by(mask, descending=True)
    return order


def permute_layer(blocks: torch.Tensor, out: torch.Tensor, masks: torch.Tensor, layer: int, order: torch.Tensor):
    """Reorder hidden layer ``layer``'s neurons (0-based) by ``order (..., H)``: the columns of its
    block, its mask, and the rows of the next block (or of the output weights). Returns new
    ``(blocks, out, masks)``; the function is unchanged."""
    blocks, out, masks = blocks.clone(), out.clone(), masks.clone()
    cols = order[..., None, :].expand(blocks[..., layer, :, :].shape)
    blocks[..., layer, :, :] = blocks[..., layer, :, :].gather(-1, cols)
    masks[..., layer, :] = masks[..., layer, :].gather(-1, order)
    if layer + 1 < blocks.shape[-3]:
        rows = order[..., :, None].expand(blocks[..., layer + 1, :, :].shape)
        blocks[..., layer + 1, :, :] = blocks[..., layer + 1, :, :].gather(-2, rows)
    else:
        out = out.gather(-1, order)
    return blocks, out, masks


def canonical_order(matrix: torch.Tensor) -> torch.Tensor:
    """The canonical matrix of ``matrix (..., H, 8L+1)`` (one depth): the same function, its
    hidden neurons sorted layer by layer (the module's docstring gives the key)."""
    blocks, out, masks = split_matrix(matrix)
    L = blocks.shape[-3]
    for layer in range(L):
        outgoing = blocks[..., layer + 1, :, :] if layer + 1 < L else out[..., None]
        order = neuron_order(blocks[..., layer, :, :], masks[..., layer, :], outgoing)
        blocks, out, masks = permute_layer(blocks, out, masks, layer, order)
    return join_matrix(blocks, out, masks)


def canonical_batch(padded: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """:func:`canonical_order` over a padded batch of mixed depths ``(N, H, 33)`` with ``depth (N,)``."""
    check_batch(padded, depth)
    result = padded.clone()
    for L in DEPTHS:
        idx = torch.nonzero(depth.to(padded.device) == L).flatten()
        if idx.numel():
            width = H * L + 1 + L
            result[idx, :, :width] = canonical_order(padded[idx, :, :width])
    return result
