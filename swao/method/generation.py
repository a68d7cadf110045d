"""Random sparse MLPs (the paper's appendix), the input grid, and the search's target datasets.

Generation of one MLP, as the appendix describes it:

1. depth ``L`` uniform in {1, 2, 3, 4}; each hidden width uniform in {3, ..., 7};
2. sparsity ``s`` in {50, 70, 80, 90} %: first fix one path from each input to the output
   (the input links to a random first-layer neuron, then a chain of one random neuron per
   layer to the output), then add random links until ``max(round(links * (1 - s)), path)``
   links are kept;
3. weights on kept links: U(-10, 10) for sigmoid-based MLPs, U(-3, 3) for the others.

The authors' code (``CreateDataset.py``, ``data.py``) draws a training step's MLPs otherwise; that
draw is :func:`authors_batch`, which the authors' recipe trains on.

Everything is vectorised over MLPs (no Python loop per MLP) and driven by a seed. On CUDA,
:func:`random_mlps` with a fixed ``depth`` (the training loop's call) makes no host-device sync:
constants are made on the device, never copied from Python lists, and no data-dependent branch
or boolean indexing is taken (CUDA random streams differ from the CPU's: other MLPs, same law).
"""
from __future__ import annotations

import hashlib
import torch

from swao.method.activations import check_activation, mlp_type
from swao.method.forward import forward
from swao.method.representation import (
    H,
    INPUT_SLICE,
    MAX_DEPTH,
    PADDED_WIDTH,
    batch_parts,
    join_matrix,
    matrix_width,
    nonzero_count,
    pad_matrix,
)

SPARSITIES = (0.5, 0.7, 0.8, 0.9)
MIN_WIDTH, MAX_WIDTH = 3, H
# Target datasets of the search (Section 4.2): depth -> exact non-zero count, widths 5.
TARGET_NONZEROS = {2: 14, 3: 35, 4: 48}
TARGET_WIDTH = 5
SPLIT = (0.5, 0.3, 0.2)  # train / valid / test


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


def input_grid(points_per_dim: int = 10, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The autoencoder's inputs: the ``10 x 10 x 10`` grid of ``linspace(-1, 1, 10)`` -> ``(1000, 3)``."""
    if not isinstance(points_per_dim, int) or points_per_dim < 2:
        raise ValueError(f"points_per_dim must be an int >= 2, got {points_per_dim!r}")
    axis = torch.linspace(-1, 1, points_per_dim, dtype=dtype)
    return torch.cartesian_prod(axis, axis, axis)


def _constants(values: tuple, dtype: torch.dtype, device) -> torch.Tensor:
    """``torch.tensor(values)`` made on ``device`` by fills: no host-to-device copy (on CUDA,
    copying a Python list is a blocking copy, i.e. a host sync)."""
    return torch.stack([torch.full((), v, dtype=dtype, device=device) for v in values])


def _uniform_int(low: int, high: int, size: tuple, gen: torch.Generator, device) -> torch.Tensor:
    return torch.randint(low, high + 1, size, generator=gen, device=device)


def sparse_mlps(
    depth: torch.Tensor,
    widths: torch.Tensor,
    links: torch.Tensor,
    weight_range: float,
    gen: torch.Generator,
    uniform_depth: int | None = None,
    one_path: bool = False,
) -> torch.Tensor:
    """Vectorised core of the generator: a padded batch ``(N, H, 33)`` of sparse MLPs.

    ``depth (N,)`` in 1..4; ``widths (N, 4)`` hidden widths (entries past the depth ignored);
    ``links (N,)`` the number of links to keep (raised to the path's size where smaller).
    Active neurons take the first ``w_l`` slots of each layer. ``uniform_depth``: the caller
    knows every entry of ``depth`` is this value; the same result, without the per-depth
    boolean selections (host syncs on CUDA). ``one_path`` (the authors' code): the three inputs
    link to the same first-layer neuron and share one chain to the output (``L + 3`` fixed links),
    instead of a chain of their own each.
    """
    device = depth.device
    N = depth.shape[0]
    layer = torch.arange(MAX_DEPTH, device=device)
    widths = torch.where(layer < depth[:, None], widths, 0)
    # Edge layers k = 0..4: k=0 input -> layer 1, k=l: layer l -> l+1, k=L: layer L -> output.
    # All stored as (N, 5, H, H) "source row x target column" candidate tables.
    src_ok = torch.zeros(N, MAX_DEPTH + 1, H, dtype=torch.bool, device=device)
    dst_ok = torch.zeros_like(src_ok)
    slot = torch.arange(H, device=device)
    src_ok[:, 0, INPUT_SLICE] = True
    src_ok[:, 1:] = slot < widths[:, :, None]  # source of edge layer k>=1 is hidden layer k
    dst_ok[:, :MAX_DEPTH] = slot < widths[:, :, None]  # target of edge layer k<L is layer k+1
    is_out = torch.arange(MAX_DEPTH + 1, device=device)[None, :] == depth[:, None]  # (N, 5)
    dst_ok = torch.where(is_out[:, :, None], slot == 0, dst_ok)  # the output neuron: column 0
    valid = src_ok[:, :, :, None] & dst_ok[:, :, None, :]  # (N, 5, H, H)
    valid &= (torch.arange(MAX_DEPTH + 1, device=device) <= depth[:, None])[:, :, None, None]

    # The fixed path of each input: input -> n_1 -> n_2 -> ... -> n_L -> output.
    u = torch.rand(N, 1 if one_path else 3, MAX_DEPTH, generator=gen, device=device).expand(N, 3, MAX_DEPTH)
    chain = (u * widths[:, None, :].clamp(min=1)).long()  # (N, 3 inputs, 4 layers)
    src_rows = torch.arange(INPUT_SLICE.start, INPUT_SLICE.stop, device=device)[None, :, None].expand(N, 3, 1)
    nodes = torch.cat([src_rows, chain], dim=2)  # (N, 3, 5): node index in each layer 0..4
    k = torch.arange(MAX_DEPTH + 1, device=device)
    dst = torch.cat([chain, torch.zeros(N, 3, 1, dtype=torch.long, device=device)], dim=2)
    dst = torch.where(k[None, None, :] == depth[:, None, None], 0, dst)  # output at edge layer L
    on_path = (k[None, None, :] <= depth[:, None, None]).expand(N, 3, -1)  # (N, 3, 5)
    flat_idx = (k[None, None, :] * H + nodes) * H + dst  # index into (5, H, H)
    path = torch.zeros(N, (MAX_DEPTH + 1) * H * H, dtype=torch.bool, device=device)
    path.scatter_(1, torch.where(on_path, flat_idx, 0).flatten(1), on_path.flatten(1))
    path_count = path.sum(1)

    # Random extra links: rank candidates with path links first, then random order.
    valid = valid.flatten(1)
    score = torch.rand(path.shape, generator=gen, device=device)
    score = torch.where(path, -1.0, torch.where(valid, score, 2.0))
    keep_n = torch.maximum(links, path_count).clamp(max=valid.sum(1))
    kth = score.sort(1).values.gather(1, (keep_n - 1).clamp(min=0)[:, None])
    keep = (score <= kth) & valid
    w = (torch.rand(path.shape, generator=gen, device=device) * 2 - 1) * weight_range
    w = torch.where(keep, w, 0.0).view(N, MAX_DEPTH + 1, H, H)

    blocks = w[:, :MAX_DEPTH]
    out = w[torch.arange(N, device=device), depth, :, 0]  # (N, H)
    masks = (slot[None, None, :] < widths[:, :, None]).to(w.dtype)  # (N, 4, H)
    if uniform_depth is not None:
        L = uniform_depth
        return pad_matrix(join_matrix(blocks[:, :L], out, masks[:, :L]))
    padded = torch.zeros(N, H, PADDED_WIDTH, device=device)
    for L in range(1, MAX_DEPTH + 1):
        sel = depth == L
        if sel.any():
            m = join_matrix(blocks[sel, :L], out[sel], masks[sel, :L])
            padded[sel] = pad_matrix(m)
    return padded


def possible_links(depth: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """The links a dense MLP of these ``depth (N,)`` and hidden ``widths (N, 4)`` has (3 inputs, 1
    output): the products of consecutive layer sizes up to the output, ``(N,)``."""
    n, device = depth.shape[0], depth.device
    sizes = torch.cat([torch.full((n, 1), 3, device=device), widths, torch.ones(n, 1, device=device, dtype=widths.dtype)], 1)
    layer = torch.arange(MAX_DEPTH + 1, device=device)
    nxt = torch.where(layer[None, :] < depth[:, None], sizes[:, 1:], 1)  # sizes past the depth -> 1
    return torch.where(layer[None, :] <= depth[:, None], sizes[:, :-1] * nxt, 0).sum(1)


def random_mlps(
    n: int,
    activation: str,
    seed: int | None = None,
    gen: torch.Generator | None = None,
    depth: int | None = None,
    device: torch.device | str = "cpu",
    return_sparsity: bool = False,
):
    """``n`` random sparse MLPs of the appendix: padded ``(n, H, 33)`` and ``depth (n,)``.

    Give a ``seed`` (or a ``torch.Generator``). ``depth`` fixes the number of hidden layers
    (else uniform in 1..4). ``return_sparsity=True`` also returns each MLP's sparsity ``(n,)``.
    """
    check_activation(activation)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if (seed is None) == (gen is None):
        raise ValueError("give exactly one of seed and gen")
    gen = gen if gen is not None else generator(seed, device)
    device = gen.device
    if depth is None:
        d = _uniform_int(1, MAX_DEPTH, (n,), gen, device)
    else:
        matrix_width(depth)  # validates
        d = torch.full((n,), depth, device=device)
    widths = _uniform_int(MIN_WIDTH, MAX_WIDTH, (n, MAX_DEPTH), gen, device)
    total = possible_links(d, widths)
    s = _constants(SPARSITIES, torch.float64, device)[_uniform_int(0, len(SPARSITIES) - 1, (n,), gen, device)]
    links = torch.round(total * (1 - s)).long()
    padded = sparse_mlps(d, widths, links, mlp_type(activation).weight_range, gen, uniform_depth=depth)
    return (padded, d, s) if return_sparsity else (padded, d)


AUTHORS_WIDTHS = (3, 6)  # data.py: random.randint(3, 7), numpy's exclusive high: 3 to 6 hidden neurons
AUTHORS_GROUPS = 4  # CreateDataset.py: 4 depths a step, each with one draw of hidden widths ...
AUTHORS_PER_GROUP = 8  # ... shared by 8 MLPs, whose 8 sparsities are drawn once a step for all groups


def authors_batch(n: int, activation: str, seed: int, return_sparsity: bool = False):
    """A training step's ``n`` MLPs drawn as the authors' code draws its 32 (``CreateDataset.py``,
    ``data.py``), in their order: padded ``(n, H, 33)`` and ``depth (n,)``.

    ``n / 4`` sparsities are drawn from :data:`SPARSITIES` once for the step; 4 depths are drawn
    uniformly from 1-4 *with replacement*; each depth gets one draw of hidden widths, 3 to 6
    (:data:`AUTHORS_WIDTHS`), shared by its group of ``n / 4`` MLPs, one per sparsity, the groups
    one after another. Each MLP keeps ``int(links * (1 - s))`` links (a floor, in float64 as
    Python computes it; at least its path's ``L + 3``), the three inputs sharing one path to the
    output (``one_path``); weights as :func:`random_mlps`. ``return_sparsity=True`` also returns
    each MLP's sparsity ``(n,)``."""
    check_activation(activation)
    if not isinstance(n, int) or n < AUTHORS_GROUPS or n % AUTHORS_GROUPS:
        raise ValueError(f"n must be a positive multiple of {AUTHORS_GROUPS} (the authors draw 4 groups of 8), got {n!r}")
    gen = generator(seed)
    per = n // AUTHORS_GROUPS
    s = torch.tensor(SPARSITIES, dtype=torch.float64)[_uniform_int(0, len(SPARSITIES) - 1, (per,), gen, "cpu")]
    group_depth = _uniform_int(1, MAX_DEPTH, (AUTHORS_GROUPS,), gen, "cpu")
    group_widths = _uniform_int(*AUTHORS_WIDTHS, (AUTHORS_GROUPS, MAX_DEPTH), gen, "cpu")
    d, widths, s = group_depth.repeat_interleave(per), group_widths.repeat_interleave(per, 0), s.repeat(AUTHORS_GROUPS)
    links = torch.floor(possible_links(d, widths).double() * (1 - s)).long()
    padded = sparse_mlps(d, widths, links, mlp_type(activation).weight_range, gen, one_path=True)
    return (padded, d, s) if return_sparsity else (padded, d)


def target_mlp(depth: int, activation: str, seed: int) -> torch.Tensor:
    """The MLP behind a search dataset: ``depth`` in {2, 3, 4} hidden layers of 5 neurons with
    exactly 14 / 35 / 48 non-zero weights (Section 4.2). Returns its ``(H, 8L+1)`` matrix."""
    check_activation(activation)
    if depth not in TARGET_NONZEROS:
        raise ValueError(f"depth must be one of {tuple(TARGET_NONZEROS)} for a target dataset, got {depth!r}")
    gen = generator(seed)
    d = torch.tensor([depth])
    widths = torch.full((1, MAX_DEPTH), TARGET_WIDTH)
    links = torch.tensor([TARGET_NONZEROS[depth]])
    padded = sparse_mlps(d, widths, links, mlp_type(activation).weight_range, gen)
    return padded[0, :, : matrix_width(depth)]


def target_dataset(depth: int, activation: str, seed: int, n_points: int = 100_000) -> dict[str, torch.Tensor]:
    """A search dataset: ``n_points`` inputs ``U(-1, 1)^3`` through :func:`target_mlp`, split
    train / valid / test 5:3:2. Keys: ``matrix``, ``x_train``, ``y_train``, ``x_valid``, ...
    """
    if not isinstance(n_points, int) or n_points < 10:
        raise ValueError(f"n_points must be an int >= 10, got {n_points!r}")
    matrix = target_mlp(depth, activation, seed)
    gen = generator(seed + 1)
    x = torch.rand(n_points, 3, generator=gen) * 2 - 1
    with torch.no_grad():
        y = forward(matrix, x, activation)
    return {"matrix": matrix, **split(x, y)}


def split(x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The search's 5:3:2 train / valid / test split (:data:`SPLIT`), in order:
    ``{"x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"}``."""
    n_train, n_valid = int(len(x) * SPLIT[0]), int(len(x) * SPLIT[1])
    parts = {"train": slice(0, n_train), "valid": slice(n_train, n_train + n_valid), "test": slice(n_train + n_valid, None)}
    return {k: v for name, sl in parts.items() for k, v in ((f"x_{name}", x[sl]), (f"y_{name}", y[sl]))}


def mix_seed(*parts) -> int:
    """A 63-bit seed from any parts (stable across runs and machines)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator_statistics(n: int, activation: str, seed: int) -> dict[str, "torch.Tensor"]:
    """Draw ``n`` MLPs and return their depths, active widths, sparsities and non-zero counts."""
    padded, depth, sparsity = random_mlps(n, activation, seed=seed, return_sparsity=True)
    _, _, masks = batch_parts(padded, depth)
    widths = masks.sum(-1)  # (n, 4)
    layer = torch.arange(MAX_DEPTH)[None, :]
    nonzeros = torch.zeros(n, dtype=torch.long)
    for L in range(1, MAX_DEPTH + 1):
        sel = depth == L
        nonzeros[sel] = nonzero_count(padded[sel, :, : matrix_width(L)])
    return {
        "depth": depth,
        "widths": widths[layer < depth[:, None]].long(),
        "sparsity": sparsity,
        "nonzeros": nonzeros,
    }
