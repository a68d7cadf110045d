"""The search's MSE (eq. 4) of a batch of masked MLPs, with its gradient in one fused pass.

:func:`mlp_mse` is :func:`swao.method.forward.forward_points_last`'s MSE; with gradients on, the kernel
:class:`FusedMSE` computes the MSE and its gradient chunk by chunk while the chunk is in cache
(about 1.5x faster than autograd on CPU; the same numbers: ``tests/test_search.py`` checks it
against the forward core and autograd, micrograd's habit). On a GPU the chunks are large: the
cost there is kernel launches, not cache.
"""
from __future__ import annotations


import torch

from swao.method.activations import check_activation, mlp_type
from swao.method.forward import forward_points_last
from swao.method.representation import H, INPUT_ROWS, INPUT_SLICE, split_matrix


# ---------------------------------------------------------------- fast batched MLP evaluation
CHUNK = 2**18  # values per (N, H, chunk) tensor of the fused MSE kernel on CPU (1 MiB: stays in cache)
CHUNK_GPU = 2**26  # on a GPU (256 MiB): one pass at the paper's sizes; each chunk costs ~5L+8 kernel launches
MIN_CHUNK = 512  # points


def mlp_mse(matrix: torch.Tensor, xt: torch.Tensor, y: torch.Tensor, activation: str) -> torch.Tensor:
    """Per-MLP mean squared error ``(N,)`` of masked matrices ``(N, H, 8L+1)`` on inputs
    ``xt (N, 3, P)`` (eq. 4): :func:`swao.method.forward.forward_points_last` without the mask products
    (the decoders' matrices are masked already).

    With gradients on, the fused kernel :class:`FusedMSE` computes the MSE and its gradient in
    one pass over chunks of points (about 1.5x faster than autograd on CPU; same numbers). On a
    GPU the chunks are large (:data:`CHUNK_GPU`): the cost there is kernel launches, not cache.
    """
    check_activation(activation)
    if torch.is_grad_enabled() and matrix.requires_grad:
        blocks, out, _ = split_matrix(matrix)
        return FusedMSE.apply(blocks, out, xt, y, activation)
    return (forward_points_last(matrix, xt, activation, masked=False) - y).square().mean(-1)


class FusedMSE(torch.autograd.Function):
    """``MSE (N,)`` of masked MLPs given as ``blocks (N, L, H, H)``, ``out (N, H)`` on
    ``xt (N, 3, P)``, ``y (N, P)``; the forward pass also computes the gradient (chunk by chunk:
    forward, then backward of the chunk while it is in cache), the backward pass only scales it.
    The masks are not used (as in :func:`mlp_mse`): they get their gradient through
    :func:`swao.method.representation.apply_masks` only.
    """

    @staticmethod
    def forward(ctx, blocks, out, xt, y, activation):
        N, L, P = blocks.shape[0], blocks.shape[1], xt.shape[-1]
        t = mlp_type(activation)
        phi, dphi, sigmoid_out = t.phi_, t.dphi, t.sigmoid_output
        # INPUT_SLICE, not list(INPUT_ROWS): a list index is a blocking host-to-device copy on CUDA
        w_in = [blocks[:, 0, INPUT_SLICE].transpose(1, 2).contiguous()] + [blocks[:, l].transpose(1, 2).contiguous() for l in range(1, L)]
        w_back = [None] + [blocks[:, l].contiguous() for l in range(1, L)]
        grads = [blocks.new_zeros(N, len(INPUT_ROWS), H)] + [blocks.new_zeros(N, H, H) for _ in range(1, L)]
        g_out, sse = out.new_zeros(N, H, 1), out.new_zeros(N)
        o_row, o_col = out.unsqueeze(1), out.unsqueeze(-1)
        chunk = max(MIN_CHUNK, (CHUNK if xt.device.type == "cpu" else CHUNK_GPU) // (N * H))
        for s in range(0, P, chunk):
            hs = [xt[..., s : s + chunk]]
            for w in w_in:
                hs.append(phi(torch.bmm(w, hs[-1])))
            o = torch.bmm(o_row, hs[-1])  # (N, 1, p)
            target = y[:, None, s : s + chunk]
            if sigmoid_out:
                yhat = o.sigmoid_()
                d = yhat - target
                g = d * yhat * (1 - yhat)
            else:
                d = g = o.sub_(target)
            sse += d.square().sum((1, 2))
            g_out.baddbmm_(hs[-1], g.transpose(1, 2))
            g = torch.bmm(o_col, g)  # d/dh_L, (N, H, p)
            for l in range(L - 1, -1, -1):
                g = dphi(g, hs[l + 1])
                grads[l].baddbmm_(hs[l], g.transpose(1, 2))
                if l:
                    g = torch.bmm(w_back[l], g)
        g_blocks = torch.zeros_like(blocks)
        g_blocks[:, 0, INPUT_SLICE] = grads[0]
        for l in range(1, L):
            g_blocks[:, l] = grads[l]
        ctx.save_for_backward(g_blocks * (2.0 / P), g_out.squeeze(-1) * (2.0 / P))
        return sse / P

    @staticmethod
    def backward(ctx, g):
        g_blocks, g_out = ctx.saved_tensors
        return g_blocks * g[:, None, None, None], g_out * g[:, None], None, None, None


__all__ = ["mlp_mse", "FusedMSE", "CHUNK", "CHUNK_GPU", "MIN_CHUNK"]
