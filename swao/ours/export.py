"""A found MLP in the user's units, exported without pickles.

The search works on inputs in ``[-1, 1]^3`` (the grid the autoencoder was trained on) and outputs
in the range of the autoencoder's training functions. :class:`Units` records the affine maps from
a user's data to that range (fitted on the training split) and back; :func:`exported_sequential`
puts them around the found MLP, so the ``torch.nn.Sequential`` predicts in the user's units.

:func:`save_mlp` writes it as ``NAME.safetensors`` (the tensors) plus ``NAME.json`` (widths,
activation, units): nothing in either file is executed on load. :func:`load_mlp` rebuilds the
``nn.Sequential``. :func:`formula` prints the MLP as a formula of its surviving weights.

Our choice (the paper searches only data made by its own MLPs): the user's outputs are mapped
onto :data:`OUTPUT_RANGE`, the quartiles of the outputs of the autoencoder's training functions
(random MLPs of that type on the grid; ``tests/test_export.py`` measures them), so a user's
function spans the values the decoders have seen most.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from swao.method.activations import check_activation, mlp_type
from swao.method.representation import N_IN, active_indices, matrix_to_weights, nonzero_count, to_sequential

# lower and upper quartile of random MLPs' outputs on the grid (256 MLPs, seed 0: -4.22 / 3.44,
# 0.335 / 0.612, 0.017 / 0.983), rounded
OUTPUT_RANGE = {"sigmoid": (-4.2, 3.4), "leaky_relu": (0.34, 0.61), "linear": (0.02, 0.98)}
FORMAT, FORMAT_VERSION = "swao-mlp", 1
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Units:
    """Affine maps between the user's units and the search's: ``x -> 2 (x - x_lo) / (x_hi - x_lo) - 1``
    per input, ``y -> out_lo + (y - y_lo) (out_hi - out_lo) / (y_hi - y_lo)``. A constant input
    column maps to -1."""

    x_lo: tuple[float, ...]
    x_hi: tuple[float, ...]
    y_lo: float
    y_hi: float
    out_lo: float
    out_hi: float

    @classmethod
    def fit(cls, x: torch.Tensor, y: torch.Tensor, activation: str) -> "Units":
        """The ranges of ``x (P, 3)`` and ``y (P,)`` (the training split) onto ``activation``'s range."""
        if x.dim() != 2 or x.shape[1] != N_IN or y.shape != x.shape[:1]:
            raise ValueError(f"x must be (P, {N_IN}) and y (P,), got {tuple(x.shape)} and {tuple(y.shape)}")
        lo, hi = OUTPUT_RANGE[check_activation(activation)]
        y_lo, y_hi = float(y.min()), float(y.max())
        if not y_hi > y_lo:
            raise ValueError(f"the outputs are constant ({y_lo!r} on every row): there is nothing to fit")
        return cls(tuple(x.min(0).values.tolist()), tuple(x.max(0).values.tolist()), y_lo, y_hi, lo, hi)

    def _x_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = torch.tensor(self.x_lo, dtype=torch.float64), torch.tensor(self.x_hi, dtype=torch.float64)
        scale = 2 / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
        return scale, -1 - lo * scale  # x_search = scale * x + shift

    def _y_scale(self) -> tuple[float, float]:
        scale = (self.out_hi - self.out_lo) / (self.y_hi - self.y_lo)
        return scale, self.out_lo - self.y_lo * scale  # y_search = scale * y + shift

    def x_in(self, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self._x_scale()
        return (x.double() * scale + shift).to(x.dtype)

    def y_in(self, y: torch.Tensor) -> torch.Tensor:
        scale, shift = self._y_scale()
        return (y.double() * scale + shift).to(y.dtype)

    def y_out(self, y: torch.Tensor) -> torch.Tensor:
        """The search's outputs back in the user's units."""
        scale, shift = self._y_scale()
        return ((y.double() - shift) / scale).to(y.dtype)

    def dataset(self, data: dict) -> dict:
        """A dataset's splits (``x_<split>``, ``y_<split>``) in the search's units."""
        return {**data, **{f"x_{s}": self.x_in(data[f"x_{s}"]) for s in SPLITS},
                **{f"y_{s}": self.y_in(data[f"y_{s}"]) for s in SPLITS}}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Units":
        return cls(tuple(d["x_lo"]), tuple(d["x_hi"]), d["y_lo"], d["y_hi"], d["out_lo"], d["out_hi"])


def fit_units(data: dict, activation: str) -> Units:
    """:meth:`Units.fit` on a dataset's training split."""
    return Units.fit(data["x_train"], data["y_train"], activation)


def _affine(scale: torch.Tensor, shift: torch.Tensor, dtype) -> nn.Linear:
    lin = nn.Linear(len(scale), len(scale), dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.diag(scale))
        lin.bias.copy_(shift)
    return lin


def exported_sequential(matrix: torch.Tensor, activation: str, units: Units | None = None) -> nn.Sequential:
    """The MLP of ``matrix`` as an ``nn.Sequential``; with ``units``, wrapped in a first ``Linear``
    that maps the user's inputs to ``[-1, 1]`` and a last one that maps the output back to the
    user's units (both exact affine maps, kept in float64 until the cast)."""
    seq = to_sequential(matrix, activation)
    if units is None:
        return seq
    dtype = matrix.dtype
    x_scale, x_shift = units._x_scale()
    y_scale, y_shift = units._y_scale()
    back = _affine(torch.tensor([1 / y_scale], dtype=torch.float64), torch.tensor([-y_shift / y_scale], dtype=torch.float64), dtype)
    return nn.Sequential(_affine(x_scale, x_shift, dtype), *seq, back)


def _widths(matrix: torch.Tensor) -> list[int]:
    return [N_IN] + [len(a) for a in active_indices(matrix)] + [1]


def save_mlp(path: str | Path, matrix: torch.Tensor, activation: str, units: Units | None = None, meta: dict | None = None) -> Path:
    """Write ``PATH.safetensors`` and ``PATH.json`` (each to a temp name, then renamed; the JSON
    last, so a description never points at missing weights). Returns the JSON's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seq = exported_sequential(matrix.detach().cpu().float(), check_activation(activation), units)
    tensors = {k: v.detach().contiguous() for k, v in seq.state_dict().items()}
    desc = {"format": FORMAT, "version": FORMAT_VERSION, "activation": activation, "widths": _widths(matrix),
            "units": units.to_dict() if units else None, "meta": meta or {}}
    weights, described = path.with_suffix(".safetensors"), path.with_suffix(".json")
    for target, write in ((weights, lambda tmp: save_file(tensors, str(tmp))),
                          (described, lambda tmp: tmp.write_text(json.dumps(desc, indent=1)))):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        write(tmp)
        os.replace(tmp, target)
    return described


def load_mlp(path: str | Path) -> nn.Sequential:
    """Rebuild the ``nn.Sequential`` that :func:`save_mlp` wrote (``PATH``, ``PATH.json`` or
    ``PATH.safetensors``); reads JSON and safetensors only."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    described, weights = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    for f in (described, weights):
        if not f.is_file():
            raise ValueError(f"{f}: no such file (save_mlp writes NAME.json and NAME.safetensors)")
    desc = json.loads(described.read_text())
    if desc.get("format") != FORMAT or desc.get("version") != FORMAT_VERSION:
        raise ValueError(f"{described}: not a {FORMAT} version {FORMAT_VERSION} description")
    t, widths = mlp_type(desc["activation"]), desc["widths"]
    layers: list[nn.Module] = [nn.Linear(N_IN, N_IN)] if desc["units"] else []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        with warnings.catch_warnings():  # a layer with no active neuron is a valid (empty) Linear
            warnings.simplefilter("ignore", UserWarning)
            lin = nn.Linear(a, b, bias=False)
        layers += [lin, t.output_module() if k == len(widths) - 2 else t.hidden_module()]
    if desc["units"]:
        layers.append(nn.Linear(1, 1))
    seq = nn.Sequential(*layers)
    seq.load_state_dict(load_file(str(weights)))
    return seq.eval()


def formula(matrix: torch.Tensor, activation: str, units: Units | None = None, digits: int = 3,
            x: torch.Tensor | None = None) -> str:
    """The MLP as equations of its surviving (non-zero) weights, one line per neuron: ``h1_k =
    phi(...)`` over the inputs ``x1..x3`` (with ``units``: their scaled ``u1..u3``), then ``y``.

    With ``x`` (inputs ``(n, 3)``, in the user's units when ``units`` is given): a neuron whose
    output does not vary over them (a spread, max - min, under ``1e-6`` of its level: e.g. ``σ(0)`` of a
    neuron cut from its inputs, or a saturated one) is not written out; it is listed once with its
    value, and its contribution folded into the next layer's constant term. A collapsed MLP then
    reads as what it is: ``out`` a constant, and no neuron is written out at all (whatever varies
    inside it, nothing of it reaches the output)."""
    t = check_activation(activation)
    kind = mlp_type(t)
    phi = {"sigmoid": "σ", "leaky_relu": "lrelu", "linear": ""}[t]
    psi = "σ" if kind.sigmoid_output else ""
    fmt = lambda v: f"{v:+.{digits}g}"  # noqa: E731
    lines = []
    if units is not None:
        scale, shift = units._x_scale()
        lines += [f"u{i + 1} = {float(scale[i]):.{digits}g}·x{i + 1} {fmt(float(shift[i]))}" for i in range(N_IN)]
    names = [f"{'u' if units is not None else 'x'}{i + 1}" for i in range(N_IN)]
    weights = matrix_to_weights(matrix.detach().cpu().double())
    h = None if x is None else (units.x_in(x) if units is not None else x).detach().cpu().double()
    level = [None] * N_IN  # the constant value of each input of the current layer, or None if it varies
    folded: list[str] = []
    for l, w in enumerate(weights):
        last = l == len(weights) - 1
        new = ["out" if last else f"h{l + 1}_{k + 1}" for k in range(w.shape[0])]
        if h is not None:
            module = kind.output_module() if last else kind.hidden_module()
            with torch.no_grad():
                h = module(h @ w.T)
            spread, mean = h.amax(0) - h.amin(0), h.mean(0)  # max - min: defined for a layer left with no neuron too
            const = [float(m) if float(sd) <= 1e-6 * max(1.0, abs(float(m))) else None for sd, m in zip(spread, mean)]
        else:
            const = [None] * w.shape[0]
        for k, row in enumerate(w.tolist()):
            bias = sum(v * c for v, c in zip(row, level) if v != 0 and c is not None)
            terms = [f"{fmt(v)}·{n}" for v, n, c in zip(row, names, level) if v != 0 and c is None]
            if bias:
                terms.append(fmt(bias))
            if const[k] is not None and not last:
                folded.append(f"{new[k]} = {const[k]:.{digits}g}")
                continue
            body = " ".join(terms) or "0"
            f = psi if last else phi
            line = f"{new[k]} = {f}({body})" if f else f"{new[k]} = {body}"
            if const[k] is not None:
                line += f"  (a constant on the data, {const[k]:.{digits}g}: the MLP has collapsed)"
            lines.append(line)
        names, level = new, const
    if level[0] is not None:  # the output is a constant on the data: the MLP has collapsed, its neurons say nothing
        lines = lines[:N_IN] if units is not None else []
        lines.append(f"out = {level[0]:.{digits}g}  (a constant on the data: the MLP has collapsed; none of its "
                     f"{int(nonzero_count(matrix.detach().cpu()))} non-zero weights changes its output here)")
        folded = []
    if folded:
        lines.insert(N_IN if units is not None else 0, "constant on the data (folded into the next layer): " + ", ".join(folded))
    if units is not None:
        scale, shift = units._y_scale()
        lines.append(f"y = (out {fmt(-shift)}) / {scale:.{digits}g}")
    return "\n".join(lines)


__all__ = ["OUTPUT_RANGE", "FORMAT", "FORMAT_VERSION", "Units", "fit_units", "exported_sequential", "save_mlp",
           "load_mlp", "formula"]
