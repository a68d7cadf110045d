"""The multi-scale encoder-decoder (Section 3.1, "Architecture of Multi-Scale Encoder-Decoder",
Figure 1).

::

    padded (N, 7, 33), depth (N,)
      -> multiplexer: MLP of depth L -> encoder E_L (7 convs), the other encoders give zeros
      -> concat (N, 768 + 1280 + 1792 + 2304 = 6144) -> 4 FC layers -> z (N, 128)
      -> 4 FC layers -> (N, 6144) -> split into 4 -> decoder D_j -> (N, 7, 8j+1), j = 1..4

Layers follow the authors' public code: LeakyReLU(0.01) everywhere, residual blocks of two 3x3
convs with a 1x1 shortcut, decoders made of convs, two stride-2 transposed convs and an FC head.
Our choices, where the paper and the code leave it open or disagree:

* 4 FC layers each way (the paper; the code has 3): 6144-512-256-256-128 and back. ``z`` keeps
  the code's final LeakyReLU, so embeddings are mostly positive (the search starts at U[0, 1)).
  ``fc_layers=3`` builds the code's stack, 6144-512-256-128 and back.
* No BatchNorm by default (the code builds it but uses it only in the 1x1 shortcuts): an MLP's
  embedding must not depend on the rest of its batch. ``shortcut_norm="per_mlp"`` builds the
  code's ``Conv2d`` + ``BatchNorm2d`` shortcuts as the code's training loop runs them, one MLP at
  a time (:class:`PerMLPBatchNorm2d`, batched).
* The multiplexer's zeros are never materialised: the first FC layer is stored as one block
  of columns per encoder (``mux``) and applied to that encoder's MLPs only, which gives the
  same result as concatenating zeros. Likewise the last decoding FC layer is one block of rows
  per decoder (``demux``): the split. Both get the Xavier bound of the whole 6144 x 512 layer.
* Masks (eq. 1, "Varying Number of Neurons"): the last ``j`` columns of ``D_j``'s output are
  logits; ``sigmoid > 0.5`` (i.e. logit > 0) makes a 0/1 neuron mask, and
  :func:`swao.method.representation.apply_masks` zeroes the weights of inactive neurons.
  ``mask_grad="none"`` is the authors' hard mask (no gradient reaches the mask logits);
  ``"straight_through"`` passes the sigmoid's gradient through the hard 0/1 value.

  The model's default is ``"none"``, the authors' (and the paper scale's config). The book's
  ``small`` scale trains with ``"straight_through"`` (``Config.mask_grad``): with its other
  recipe options (masks that start on, the copy term, a linear schedule) it learned where hard
  masks did not in the recipe study (studies/recipe_study.py, results/recipe/study.json). An
  earlier measurement of the estimator alone, on the old small recipe, found a tie
  (benchmarks/RESULTS.md, "mask_grad").
* ``width`` (ours, 1 by default, the paper's architecture): every conv's channels and every
  hidden FC width scaled by it (the embedding stays 128-d), for more steps in a CPU budget.
* Inputs of every conv stack are made ``channels_last``: oneDNN's backward convolutions on
  these small maps ran 1.1-3x faster that way on CPU (parameters stay contiguous).
"""
from __future__ import annotations

import torch
from torch import nn

from swao.method.options import ENCODER_INPUTS, FC_LAYERS, MASK_GRADS, SHORTCUT_NORMS
from swao.method.representation import DEPTHS, H, MAX_DEPTH, PADDED_WIDTH, apply_masks, check_batch, check_depth, matrix_width
from swao.method.symmetry import canonical_batch

DEFAULT_MASK_GRAD = "none"
EMBED_DIM = 128
FC_WIDTHS = (512, 256, 256)  # hidden widths of the FC stack between the concat and z (its first 2 with 3 FC layers)
SLOPE = 0.01  # LeakyReLU of the autoencoder's own layers (authors' code)


def _act() -> nn.Module:
    return nn.LeakyReLU(SLOPE)


def _down(n: int) -> int:
    """Size after a 3x3, stride-2, padding-1 conv."""
    return (n - 1) // 2 + 1


def widened(n: int, width: float) -> int:
    """A layer's channels or units at ``width`` times the architecture's (ours; 1 = the paper's)."""
    return max(1, round(n * width))


def feature_shape(depth: int, width: float = 1.0) -> tuple[int, int, int]:
    """``(128, 2, W')`` output shape of encoder ``E_depth`` (input ``H x (8L+1)``)."""
    return widened(128, width), _down(_down(H)), _down(_down(matrix_width(depth)))


def feature_size(depth: int, width: float = 1.0) -> int:
    c, h, w = feature_shape(depth, width)
    return c * h * w  # 768, 1280, 1792, 2304 at width 1


class PerMLPBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` as the authors' training loop runs it: the network is called on one MLP
    at a time (``train_autoencoder.py``), so in training mode each MLP's features are normalised
    by their own per-channel mean and (biased) variance over the MLP's map, then scaled and
    shifted by the shared affine parameters; the running statistics move once per MLP, in the
    batch's row order, by ``momentum`` towards that MLP's mean and unbiased variance:

        r_N = (1 - m)^N r_0 + sum_i m (1 - m)^(N - 1 - i) s_i      (i = 0 .. N-1, row order)

    which is the MLP-by-MLP update, batched. In eval mode it is ``nn.BatchNorm2d``'s (running
    statistics). Tested against ``nn.BatchNorm2d`` called on batches of one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        n, s = x.shape[0], x.shape[2] * x.shape[3]
        if s < 2:
            raise ValueError(f"a per-MLP BatchNorm needs more than one value per channel, got a {tuple(x.shape[2:])} map")
        var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)
        y = (x - mean) * torch.rsqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]
        with torch.no_grad():
            m = self.momentum
            w = m * (1 - m) ** torch.arange(n - 1, -1, -1, dtype=x.dtype, device=x.device)  # (n,)
            keep = (1 - m) ** n
            self.running_mean.mul_(keep).add_(w @ mean.flatten(1).to(self.running_mean.dtype))
            self.running_var.mul_(keep).add_(w @ (var.flatten(1) * (s / (s - 1))).to(self.running_var.dtype))
            self.num_batches_tracked.add_(n)
        return y


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a LeakyReLU between, plus a (1x1 conv) shortcut (authors' code);
    ``norm=True``: the shortcut is the code's 1x1 conv + BatchNorm (:class:`PerMLPBatchNorm2d`)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, norm: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        if stride == 1 and c_in == c_out:
            self.shortcut = nn.Identity()
        elif norm:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride), PerMLPBatchNorm2d(c_out))
        else:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride)
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.act(self.conv1(x))) + self.shortcut(x))


class Encoder(nn.Module):
    """``E_L``: ``(n, 1, 7, 8L+1) -> (n, 128 * 2 * W')``; 7 conv layers (1 + 3 blocks x 2)."""

    def __init__(self, width: float = 1.0, norm: bool = False):
        super().__init__()
        c32, c64, c128 = (widened(n, width) for n in (32, 64, 128))
        self.net = nn.Sequential(
            nn.Conv2d(1, c32, 3, padding=1), _act(),
            ResidualBlock(c32, c64, stride=2, norm=norm), ResidualBlock(c64, c128, stride=2, norm=norm),
            ResidualBlock(c128, c128, norm=norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last)).flatten(1)


class Decoder(nn.Module):
    """``D_j``: ``(n, 128 * 2 * W')`` -> raw ``(n, 7, 8j+1)`` (weights, then ``j`` mask logits).

    Convs, two stride-2 transposed convs (2 x W' -> 8 x 4W'), then an FC head (authors' code).
    """

    def __init__(self, depth: int, width: float = 1.0, norm: bool = False):
        super().__init__()
        self.depth = depth
        self.in_shape = feature_shape(depth, width)
        c, h, w = self.in_shape
        c32, c64, u256, u512 = (widened(n, width) for n in (32, 64, 256, 512))
        self.net = nn.Sequential(
            nn.Conv2d(c, c64, 3, padding=1), _act(),
            ResidualBlock(c64, c64, norm=norm),
            nn.ConvTranspose2d(c64, c64, 3, stride=2, padding=1, output_padding=1), _act(),
            ResidualBlock(c64, c32, norm=norm),
            nn.ConvTranspose2d(c32, c32, 3, stride=2, padding=1, output_padding=1), _act(),
            ResidualBlock(c32, 1, norm=norm),
            nn.Conv2d(1, 1, 3, padding=1),
        )
        self.head = nn.Sequential(
            nn.Linear(16 * h * w, u512), _act(), nn.Linear(u512, u256), _act(), nn.Linear(u256, H * matrix_width(depth)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, *self.in_shape).contiguous(memory_format=torch.channels_last)
        x = self.net(x).flatten(1)
        return self.head(x).view(-1, H, matrix_width(self.depth))


def neuron_masks(logits: torch.Tensor, mask_grad: str) -> torch.Tensor:
    """0/1 masks ``sigmoid(logits) > 0.5``; with ``"straight_through"`` the backward pass uses
    the sigmoid's gradient (``hard + (s - s.detach())`` equals ``hard`` exactly)."""
    hard = (logits > 0).to(logits.dtype)
    if mask_grad == "none":
        return hard
    s = torch.sigmoid(logits)
    return hard + (s - s.detach())


def _mlp(widths: tuple[int, ...], last_act: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), _act()]
    return nn.Sequential(*(layers if last_act else layers[:-1]))


class MultiScaleAutoencoder(nn.Module):
    """Four encoders, a multiplexer, FC layers to ``z`` in R^128 and back, four decoders.

    ``forward(padded, depth)`` returns the 4 decoded, masked matrices
    ``[(N,7,9), (N,7,17), (N,7,25), (N,7,33)]``: every decoder decodes every ``z``.
    """

    def __init__(self, mask_grad: str = DEFAULT_MASK_GRAD, mask_bias: float = 0.0, width: float = 1.0,
                 encoder_input: str = "as_drawn", fc_layers: int = 4, shortcut_norm: str = "none"):
        super().__init__()
        if fc_layers not in FC_LAYERS:
            raise ValueError(f"fc_layers must be one of {FC_LAYERS}, got {fc_layers!r}")
        if shortcut_norm not in SHORTCUT_NORMS:
            raise ValueError(f"shortcut_norm must be one of {SHORTCUT_NORMS}, got {shortcut_norm!r}")
        if mask_grad not in MASK_GRADS:
            raise ValueError(f"mask_grad must be one of {MASK_GRADS}, got {mask_grad!r}")
        if encoder_input not in ENCODER_INPUTS:
            raise ValueError(f"encoder_input must be one of {ENCODER_INPUTS}, got {encoder_input!r}")
        self.encoder_input = encoder_input  # ours: "canonical" encodes each MLP's canonical matrix (swao.method.symmetry)
        if not (isinstance(width, (int, float)) and 0 < width <= 4):
            raise ValueError(f"width must be a number in (0, 4], got {width!r}")
        self.mask_grad = mask_grad
        self.mask_bias = float(mask_bias)
        self.width = float(width)
        self.fc_layers, self.shortcut_norm = fc_layers, shortcut_norm
        self.fc_widths = tuple(widened(n, width) for n in FC_WIDTHS[: fc_layers - 1])
        self.sizes = [feature_size(L, width) for L in DEPTHS]
        self.offsets = [sum(self.sizes[:i]) for i in range(MAX_DEPTH)]
        norm = shortcut_norm == "per_mlp"
        self.encoders = nn.ModuleList(Encoder(width, norm) for _ in DEPTHS)
        # FC 1 of 4 (of 3: fc_layers; 6144 -> 512), stored as one block of columns per encoder: the multiplexer.
        self.mux = nn.ModuleList(nn.Linear(size, self.fc_widths[0], bias=False) for size in self.sizes)
        self.mux_bias = nn.Parameter(torch.zeros(self.fc_widths[0]))
        self.fc_in = _mlp((*self.fc_widths, EMBED_DIM), last_act=True)  # FC 2-4 of 4 (2-3 of 3) -> z
        self.fc_out = _mlp((EMBED_DIM, *self.fc_widths[::-1]), last_act=True)  # FC 1-3 of 4 (1-2 of 3) back
        # the last FC layer (512 -> 6144), stored as one block of rows per decoder: the split.
        self.demux = nn.ModuleList(nn.Linear(self.fc_widths[0], size) for size in self.sizes)
        self.decoders = nn.ModuleList(Decoder(L, width, norm) for L in DEPTHS)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weights and zero biases (authors' code). The split first and last FC
        layers get the bound of the whole 6144 x 512 layer they stand for. ``mask_bias`` (ours)
        sets the bias of the mask logits, so that at ``> 0`` every decoded neuron starts active."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        bound = (6 / (sum(self.sizes) + self.fc_widths[0])) ** 0.5
        for m in [*self.mux, *self.demux]:
            nn.init.uniform_(m.weight, -bound, bound)
        if self.mask_bias:  # ours, off by default: the mask logits start at +mask_bias, every neuron on
            for L, d in zip(DEPTHS, self.decoders):
                with torch.no_grad():
                    d.head[-1].bias.view(H, matrix_width(L))[:, -L:] = self.mask_bias

    # ------------------------------------------------------------------ encoding
    @staticmethod
    def _groups(depth: torch.Tensor, counts: tuple[int, ...] | None) -> list[torch.Tensor | slice]:
        """Rows of each depth: slices when the batch is sorted by depth with known ``counts``."""
        if counts is not None:
            if len(counts) != MAX_DEPTH or sum(counts) != depth.shape[0]:
                raise ValueError(f"counts must give the number of MLPs of each depth 1..4, got {counts}")
            ends = [sum(counts[: i + 1]) for i in range(MAX_DEPTH)]
            return [slice(e - c, e) for c, e in zip(counts, ends)]
        return [torch.nonzero(depth == L).flatten() for L in DEPTHS]

    def encoder_features(self, padded: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """The multiplexer's output ``(N, 6144)``, zeros included (reference path; slow)."""
        check_batch(padded, depth)
        feats = padded.new_zeros(padded.shape[0], sum(self.sizes))
        for i, L in enumerate(DEPTHS):
            idx = torch.nonzero(depth.to(padded.device) == L).flatten()
            if idx.numel():
                x = padded[idx, None, :, : matrix_width(L)]
                feats[idx, self.offsets[i] : self.offsets[i] + self.sizes[i]] = self.encoders[i](x)
        return feats

    def first_fc(self, feats: torch.Tensor) -> torch.Tensor:
        """FC 1 applied to the full ``(N, 6144)`` concatenation (reference path)."""
        weight = torch.cat([m.weight for m in self.mux], dim=1)
        return nn.functional.linear(feats, weight, self.mux_bias)

    def encode(self, padded: torch.Tensor, depth: torch.Tensor, counts: tuple[int, ...] | None = None) -> torch.Tensor:
        """``z (N, 128)`` of a padded batch of mixed depths.

        Each MLP goes through the encoder of its depth; the other encoders' zeros are implicit:
        FC 1 is applied per encoder to its own block of columns (``self.mux``).
        ``counts`` (optional) says the batch is sorted by depth with these many MLPs of each
        depth (the training loop's layout): static slices, no index ops, no device sync.
        """
        if counts is None:
            check_batch(padded, depth)
        elif padded.dim() != 3 or padded.shape[1:] != (H, PADDED_WIDTH):
            raise ValueError(f"padded must have shape (N, {H}, {PADDED_WIDTH}), got {tuple(padded.shape)}")
        if self.encoder_input == "canonical":  # ours: one matrix per permutation orbit
            padded = canonical_batch(padded, depth)
        parts, rows_of = [], self._groups(depth.to(padded.device), counts)
        for i, (L, rows) in enumerate(zip(DEPTHS, rows_of)):
            x = padded[rows, None, :, : matrix_width(L)]
            parts.append(self.mux[i](self.encoders[i](x)) if x.shape[0] else None)
        if counts is not None:
            h = torch.cat([p for p in parts if p is not None])
        else:
            # the parts' dtype (bf16 under autocast): CUDA autocast does not promote index_copy
            dtype = next((p.dtype for p in parts if p is not None), padded.dtype)
            h = padded.new_zeros(padded.shape[0], self.fc_widths[0], dtype=dtype)
            for rows, part in zip(rows_of, parts):
                if part is not None:
                    h = h.index_copy(0, rows, part)
        return self.fc_in(nn.functional.leaky_relu(h + self.mux_bias, SLOPE))

    # ------------------------------------------------------------------ decoding
    def _hidden(self, z: torch.Tensor) -> torch.Tensor:
        """FC 1-3 of the 4 decoding layers (shared by every decoder)."""
        if z.dim() != 2 or z.shape[1] != EMBED_DIM:
            raise ValueError(f"z must have shape (N, {EMBED_DIM}), got {tuple(z.shape)}")
        return self.fc_out(z)

    def _decode_part(self, h: torch.Tensor, i: int) -> torch.Tensor:
        raw = self.decoders[i](self.demux[i](h))
        L = DEPTHS[i]
        masks = neuron_masks(raw[..., -L:], self.mask_grad)
        return apply_masks(torch.cat([raw[..., :-L], masks], dim=-1))

    def decode(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The 4 decoded MLPs of each embedding: ``[(N,7,9), (N,7,17), (N,7,25), (N,7,33)]``,
        mask columns 0/1, weights of inactive neurons (and non-input rows of ``B_1``) zero."""
        h = self._hidden(z)
        return [self._decode_part(h, i) for i in range(MAX_DEPTH)]

    def decode_depth(self, z: torch.Tensor, j: int) -> torch.Tensor:
        """Only decoder ``D_j``: ``(N, 7, 8j+1)`` (for the search, which optimises ``z`` per
        decoder): FC 1-3, the block of FC 4 that feeds ``D_j``, and ``D_j``."""
        check_depth(j)
        return self._decode_part(self._hidden(z), j - 1)

    def forward(self, padded: torch.Tensor, depth: torch.Tensor, counts: tuple[int, ...] | None = None) -> list[torch.Tensor]:
        return self.decode(self.encode(padded, depth, counts))


def device_of(model: nn.Module) -> torch.device:
    """The device a model's parameters live on (the CPU for a model without any)."""
    return next((t.device for t in model.parameters()), torch.device("cpu"))


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "MultiScaleAutoencoder", "Encoder", "Decoder", "ResidualBlock", "PerMLPBatchNorm2d", "neuron_masks", "feature_shape",
    "feature_size", "n_parameters", "MASK_GRADS", "DEFAULT_MASK_GRAD", "EMBED_DIM", "PADDED_WIDTH",
]
