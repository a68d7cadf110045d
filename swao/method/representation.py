"""Matrix representation of an MLP (the paper's eq. 1 and "Varying Number of Neurons").

An MLP with 3 inputs, ``L`` hidden layers (1..4) of at most ``H = 7`` neurons, 1 output and no
biases is written as one ``H x (H*L + 1 + L)`` matrix::

    M = [ B_1 | B_2 | ... | B_L | b_out | m_1 ... m_L ]

* ``B_l`` (``H x H``) is the transposed weight matrix of layer ``l``: rows are source neurons,
  columns target neurons. In ``B_1`` the three inputs sit on rows 2, 3, 4 (centred).
* ``b_out`` is the output weight column (one row per neuron of the last hidden layer).
* ``m_l`` are 0/1 columns marking the active neurons of hidden layer ``l``.

Widths: 9, 17, 25, 33 columns for L = 1..4. A *batch of mixed depths* is stored padded to
``H x 33`` with a ``depth`` vector: the depth-``L`` matrix is the first ``8L+1`` columns.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from swao.method.activations import activation_of_modules, mlp_type

H = 7  # the largest hidden width
N_IN = 3  # inputs of every MLP
INPUT_ROWS = (2, 3, 4)  # rows of B_1 that hold the inputs
# The same rows as a slice: indexing with it is a view, whereas indexing with ``list(INPUT_ROWS)``
# first copies the list to the tensor's device (on CUDA a blocking copy, i.e. a host sync).
INPUT_SLICE = slice(INPUT_ROWS[0], INPUT_ROWS[-1] + 1)
assert tuple(range(INPUT_SLICE.start, INPUT_SLICE.stop)) == INPUT_ROWS
MAX_DEPTH = 4
DEPTHS = (1, 2, 3, 4)
PADDED_WIDTH = H * MAX_DEPTH + 1 + MAX_DEPTH  # 33


def matrix_width(depth: int) -> int:
    """Columns of the matrix of a ``depth``-hidden-layer MLP: ``H*L + 1 + L`` (9, 17, 25, 33)."""
    check_depth(depth)
    return H * depth + 1 + depth


def check_depth(depth: int) -> None:
    if not isinstance(depth, int) or depth not in DEPTHS:
        raise ValueError(f"depth must be one of {DEPTHS}, got {depth!r}")


def depth_of(matrix: torch.Tensor) -> int:
    """The number of hidden layers a matrix of shape ``(..., H, 8L+1)`` represents."""
    if matrix.dim() < 2 or matrix.shape[-2] != H or (matrix.shape[-1] - 1) % (H + 1) != 0:
        raise ValueError(
            f"matrix must have shape (..., {H}, 8L+1) with L in {DEPTHS} "
            f"(widths 9, 17, 25, 33), got {tuple(matrix.shape)}"
        )
    depth = (matrix.shape[-1] - 1) // (H + 1)
    check_depth(depth)
    return depth


def _input_row_mask(like: torch.Tensor) -> torch.Tensor:
    rows = torch.zeros(H, dtype=like.dtype, device=like.device)
    rows[INPUT_SLICE] = 1  # a slice: no host-to-device copy of an index (sync-free on CUDA)
    return rows


def split_matrix(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split ``(..., H, 8L+1)`` into blocks ``(..., L, H, H)``, ``b_out (..., H)``, masks ``(..., L, H)``."""
    L = depth_of(matrix)
    blocks = matrix[..., : H * L].unflatten(-1, (L, H)).movedim(-2, -3)
    out = matrix[..., H * L]
    masks = matrix[..., H * L + 1 :].movedim(-1, -2)
    return blocks, out, masks


def dead_layer(matrix: torch.Tensor) -> torch.Tensor:
    """``(...)`` bool: the MLP has a layer through which nothing passes (a weight block, or the
    output weights, all zero: every neuron of a hidden layer masked off, or every link cut), so
    its output is a constant and the search's embedding gets no gradient through it."""
    blocks, out, _ = split_matrix(matrix)
    return (blocks == 0).flatten(-2).all(-1).any(-1) | (out == 0).all(-1)


def join_matrix(blocks: torch.Tensor, out: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_matrix`."""
    L = blocks.shape[-3]
    check_depth(L)
    flat = blocks.movedim(-3, -2).flatten(-2)
    return torch.cat([flat, out.unsqueeze(-1), masks.movedim(-2, -1)], dim=-1)


def apply_masks(matrix: torch.Tensor) -> torch.Tensor:
    """Zero every weight that touches an inactive neuron, and the non-input rows of ``B_1``.

    This is the paper's "the corresponding weights of the inactive neurons are masked". The
    mask columns themselves are returned unchanged. Differentiable in the weights and masks.
    """
    blocks, out, masks = split_matrix(matrix)
    L = blocks.shape[-3]
    src = torch.cat([_input_row_mask(matrix).expand_as(masks[..., :1, :]), masks[..., : L - 1, :]], dim=-2)
    blocks = blocks * src.unsqueeze(-1) * masks.unsqueeze(-2)
    out = out * masks[..., L - 1, :]
    return join_matrix(blocks, out, masks)


def build_matrix(weights: list[torch.Tensor]) -> torch.Tensor:
    """Build the matrix of an MLP from its weights in ``torch.nn.Linear`` convention.

    ``weights = [W_1 (w_1 x 3), W_2 (w_2 x w_1), ..., W_L (w_L x w_{L-1}), w_out (1 x w_L)]``.
    Active neurons take the first ``w_l`` slots of each layer.
    """
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise ValueError("weights must be a list [W_1, ..., W_L, w_out] with 1 <= L <= 4 hidden layers")
    L = len(weights) - 1
    check_depth(L)
    prev = N_IN
    for i, w in enumerate(weights):
        w = torch.as_tensor(w)
        rows = 1 if i == L else w.shape[0]
        if w.dim() != 2 or w.shape[1] != prev or w.shape[0] != rows or not 0 <= rows <= H:
            raise ValueError(
                f"weights[{i}] must have shape (out, {prev}) with out <= {H} "
                f"(1 for the output layer), got {tuple(w.shape)}"
            )
        if not torch.isfinite(w).all():
            raise ValueError(f"weights[{i}] contains NaN or Inf")
        prev = w.shape[0]
    dtype = torch.as_tensor(weights[0]).dtype if torch.as_tensor(weights[0]).is_floating_point() else torch.float32
    blocks = torch.zeros(L, H, H, dtype=dtype)
    masks = torch.zeros(L, H, dtype=dtype)
    out = torch.zeros(H, dtype=dtype)
    rows = list(INPUT_ROWS)
    for l in range(L):
        w = torch.as_tensor(weights[l], dtype=dtype)
        width = w.shape[0]
        blocks[l][rows, :width] = w.T
        masks[l, :width] = 1
        rows = list(range(width))
    out[rows] = torch.as_tensor(weights[L], dtype=dtype)[0]
    return join_matrix(blocks, out, masks)


def active_indices(matrix: torch.Tensor) -> list[list[int]]:
    """Indices of the active neurons (mask > 0.5) of each hidden layer of one matrix."""
    if matrix.dim() != 2:
        raise ValueError(f"expected one matrix of shape ({H}, 8L+1), got {tuple(matrix.shape)}")
    _, _, masks = split_matrix(matrix)
    return [torch.nonzero(m > 0.5).flatten().tolist() for m in masks]


def matrix_to_weights(matrix: torch.Tensor) -> list[torch.Tensor]:
    """Weights on the active neurons, in ``nn.Linear`` convention (inverse of :func:`build_matrix`)."""
    check_matrix(matrix)
    blocks, out, _ = split_matrix(apply_masks(matrix))
    active = active_indices(matrix)
    weights, rows = [], list(INPUT_ROWS)
    for l, cols in enumerate(active):
        weights.append(blocks[l][rows][:, cols].T.contiguous())
        rows = cols
    weights.append(out[rows].unsqueeze(0).contiguous())
    return weights


def check_matrix(matrix: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``matrix`` is a finite ``(..., H, 8L+1)`` float tensor."""
    if not isinstance(matrix, torch.Tensor):
        raise ValueError(f"matrix must be a torch.Tensor, got {type(matrix).__name__}")
    depth_of(matrix)
    if not matrix.is_floating_point():
        raise ValueError(f"matrix must be a float tensor, got dtype {matrix.dtype}")
    if not torch.isfinite(matrix).all():
        raise ValueError("matrix contains NaN or Inf")


def to_sequential(matrix: torch.Tensor, activation: str) -> nn.Sequential:
    """A plain ``torch.nn.Sequential`` (bias-free ``Linear`` layers) computing the matrix's MLP."""
    t = mlp_type(activation)
    hidden, output = t.hidden_module, t.output_module
    layers: list[nn.Module] = []
    for w in matrix_to_weights(matrix.detach()):
        with warnings.catch_warnings():  # a layer with no active neuron is a valid (empty) Linear
            warnings.simplefilter("ignore", UserWarning)
            lin = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=matrix.dtype)
        with torch.no_grad():
            lin.weight.copy_(w)
        layers += [lin, hidden()]
    layers[-1] = output()
    return nn.Sequential(*layers)


def from_sequential(seq: nn.Sequential) -> tuple[torch.Tensor, str]:
    """Inverse of :func:`to_sequential`: ``(matrix, activation)``."""
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    others = [m for m in seq if not isinstance(m, nn.Linear)]
    if any(lin.bias is not None for lin in linears):
        raise ValueError("only bias-free Linear layers can be written as a matrix")
    if len(others) != len(linears):
        raise ValueError("expected Linear, activation, Linear, activation, ..., Linear, output activation")
    activation = activation_of_modules(others[:-1], others[-1])
    return build_matrix([lin.weight.detach().clone() for lin in linears]), activation


def nonzero_count(matrix: torch.Tensor, threshold: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Number of weights with ``|w| > threshold`` on links between active neurons (inputs count
    as active). The paper's measure of compactness. Works on ``(..., H, 8L+1)``; returns ``(...)``.
    """
    check_matrix(matrix)
    blocks, out, _ = split_matrix(apply_masks(matrix))
    t = torch.as_tensor(threshold, dtype=matrix.dtype, device=matrix.device)
    t_b = t.reshape(t.shape + (1, 1, 1)) if t.dim() else t
    t_o = t.reshape(t.shape + (1,)) if t.dim() else t
    return (blocks.abs() > t_b).sum(dim=(-3, -2, -1)) + (out.abs() > t_o).sum(dim=-1)


# ---------------------------------------------------------------- batches of mixed depths
def pad_matrix(matrix: torch.Tensor) -> torch.Tensor:
    """Zero-pad ``(..., H, 8L+1)`` to ``(..., H, 33)`` (the layout of a mixed-depth batch)."""
    depth_of(matrix)
    return nn.functional.pad(matrix, (0, PADDED_WIDTH - matrix.shape[-1]))


def unpad_matrix(padded: torch.Tensor, depth: int) -> torch.Tensor:
    """The first ``8L+1`` columns of a padded matrix."""
    return padded[..., : matrix_width(int(depth))]


def check_batch(padded: torch.Tensor, depth: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``padded (N, H, 33)`` and ``depth (N,)`` form a valid batch."""
    if not isinstance(padded, torch.Tensor) or padded.dim() != 3 or padded.shape[1:] != (H, PADDED_WIDTH):
        shape = tuple(padded.shape) if isinstance(padded, torch.Tensor) else type(padded).__name__
        raise ValueError(f"padded must have shape (N, {H}, {PADDED_WIDTH}), got {shape}")
    if not isinstance(depth, torch.Tensor) or depth.shape != padded.shape[:1]:
        raise ValueError(f"depth must be a tensor of shape ({padded.shape[0]},)")
    if depth.numel() and (depth.min() < 1 or depth.max() > MAX_DEPTH):
        raise ValueError(f"depth values must lie in {DEPTHS}")


def batch_parts(padded: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blocks ``(N, 4, H, H)``, ``b_out (N, H)`` and masks ``(N, 4, H)`` of a padded batch.

    Blocks and masks beyond an MLP's depth are meaningless (callers ignore them by depth).
    """
    N = padded.shape[0]
    blocks = padded[..., : H * MAX_DEPTH].unflatten(-1, (MAX_DEPTH, H)).movedim(-2, -3)
    d = depth.to(padded.device).long()
    out_col = (H * d).view(N, 1, 1).expand(N, H, 1)
    out = padded.gather(-1, out_col).squeeze(-1)
    mask_cols = (H * d + 1).view(N, 1, 1) + torch.arange(MAX_DEPTH, device=padded.device).view(1, 1, -1)
    mask_cols = mask_cols.clamp(max=PADDED_WIDTH - 1).expand(N, H, MAX_DEPTH)
    masks = padded.gather(-1, mask_cols).movedim(-1, -2)
    return blocks, out, masks


__all__ = [
    "H", "N_IN", "INPUT_ROWS", "INPUT_SLICE", "MAX_DEPTH", "DEPTHS", "PADDED_WIDTH", "matrix_width", "depth_of",
    "split_matrix", "join_matrix", "apply_masks", "build_matrix", "active_indices",
    "matrix_to_weights", "check_matrix", "to_sequential", "from_sequential", "nonzero_count",
    "pad_matrix", "unpad_matrix", "check_batch", "batch_parts",
    "check_depth",
]
