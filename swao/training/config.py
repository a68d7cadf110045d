"""One frozen configuration per scale, with strict validation.

* ``smoke``: seconds; for tests and nbval.
* ``small``: the default CPU book (minutes on 2 cores).
* ``paper``: the paper's sizes (Section 4): 3,200,000 MLPs x 4 epochs, 1,000 test MLPs per
  encoder, 100,000-point datasets, 30,000 search steps. Meant for a GPU.

``get_config("small", epochs=2)`` returns a validated copy with overrides; a bad name or value
raises ``ValueError`` that names the parameter and what is allowed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field

import torch

from swao.method.model import MultiScaleAutoencoder
from swao.method.representation import DEPTHS
from swao.method.settings import SearchBudget, SearchOptions
from swao.method.options import ENCODER_INPUTS, FC_LAYERS, LOSS_SCALES, MASK_GRADS, PENALTIES, SHORTCUT_NORMS, STARTS

SCALES = ("smoke", "small", "paper")
SCHEDULES = ("step", "linear")  # the learning-rate schedule of autoencoder training
LINEAR_WARMUP = 0.05  # the "linear" schedule's warm-up, a share of the run's steps
# How a training step's MLPs are drawn (swao.training.train.train_batch): "stratified" (ours: a
# quarter of each depth, every MLP drawn on its own as the paper's appendix says) or "authors" (the
# authors' code: swao.method.generation.authors_batch).
BATCHES = ("stratified", "authors")
# The training recipes: "ours" (each scale's own) and "authors" (the authors' training script, :func:`authors_recipe`).
RECIPES = ("ours", "authors")
# The allowed values of the configuration's named options: the schedule's here (training's own),
# the method's in swao.method.options, where the functions that take them check them too.
CHOICES = {
    "schedule": SCHEDULES,
    "mask_grad": MASK_GRADS,
    "loss_scale": LOSS_SCALES,
    "search_start": STARTS,
    "search_masks": MASK_GRADS,  # the same two kinds of mask as in training
    "search_penalty": PENALTIES,
    "encoder_input": ENCODER_INPUTS,
}
# Earlier spellings of a value, read from results and checkpoints written before the rename.
LEGACY_VALUES = {"search_masks": {"hard": "none"}}
# What each field is for. Every field declares one (a field without fails at import; tested): the
# "training" fields are what an autoencoder's training depends on (its cache key, what a resumed
# run must match); "mask" is the autoencoder's mask kind, keyed by itself (the mask-gradient
# study trains both kinds at one config); the others do not change a trained autoencoder.
ROLES = ("training", "mask", "evaluation", "search")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_at_least(low: int):
    def check(name: str, value) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{name} must be an int, got {value!r}"
        return f"{name} must be >= {low}, got {value!r}" if value < low else None
    return check


def _positive(name: str, value) -> str | None:
    if not _is_number(value) or not value > 0 or value != value or value == float("inf"):
        return f"{name} must be a positive finite number, got {value!r}"
    return None


def _finite(name: str, value) -> str | None:
    return None if _is_number(value) and abs(value) < float("inf") else f"{name} must be a finite number, got {value!r}"


def _finite_non_negative(name: str, value) -> str | None:
    return _finite(name, value) or (f"{name} must be >= 0, got {value!r}" if value < 0 else None)


def _fraction(name: str, value) -> str | None:
    ok = _is_number(value) and 0 < value <= 1
    return None if ok else f"{name} must be a fraction of the run in (0, 1], got {value!r}"


def _width(name: str, value) -> str | None:
    return None if _is_number(value) and 0 < value <= 4 else f"{name} must be a number in (0, 4], got {value!r}"


def _boolean(name: str, value) -> str | None:
    return None if isinstance(value, bool) else f"{name} must be True or False, got {value!r}"


def _one_of(allowed: tuple):
    def check(name: str, value) -> str | None:
        return None if value in allowed else f"{name} must be one of {allowed}, got {value!r}"
    return check


def _field(role: str, check, default=dataclasses.MISSING, ours: bool = False, authors: bool = False):
    """A configuration field: its role (:data:`ROLES`), its check (``(name, value) -> error or
    None``) and whether it is one of our options beyond the paper (``ours``) or a setting of the
    authors' code that the paper's text does not have (``authors``; the default is the paper's)."""
    return field(default=default, metadata={"role": role, "check": check, "ours": ours, "authors": authors})


def _option(role: str, default: str):
    """A named option of :data:`CHOICES` (ours, beyond the paper)."""
    return field(default=default, metadata={"role": role, "check": None, "ours": True, "authors": False})


@dataclass(frozen=True)
class Config:
    scale: str = _field("training", _one_of(SCALES))
    # --- autoencoder training (Section 4.1) ---
    train_mlps: int = _field("training", _int_at_least(1))  # MLPs in the training set (one epoch); paper: 3,200,000
    epochs: int = _field("training", _int_at_least(1))  # paper: 4
    batch_size: int = _field("training", _int_at_least(1))
    lr: float = _field("training", _positive)  # Adam learning rate at the start
    lr_halve_epochs: float = _field("training", _positive)  # halve the learning rate every this many epochs (authors' code: 2)
    val_mlps: int = _field("training", _int_at_least(1))  # fixed held-out MLPs for validation MPE during training
    val_every: int = _field("training", _int_at_least(1))  # steps between validations
    checkpoint_every: int = _field("training", _int_at_least(1))  # steps between checkpoints
    # the grid the training loss (eq. 2/3) and the embedding study compare MLPs on, points per input
    # dimension (10: the paper's 1,000 points); Table 1's MPE and the validation stay on the paper's grid
    grid_points: int = _field("training", _int_at_least(2))
    # --- MPE evaluation (Tables 1, 3) ---
    eval_mlps: int = _field("evaluation", _int_at_least(1))  # test MLPs per encoder; paper: 1,000
    # --- search (Section 4.2) ---
    search_points: int = _field("search", _int_at_least(10))  # dataset size before the 5:3:2 split; paper: 100,000
    search_steps: int = _field("search", _int_at_least(1))  # paper: 30,000
    restarts: int = _field("search", _int_at_least(1))  # searches per (dataset, decoder)
    seed: int = _field("training", _int_at_least(0), 0)
    # --- the training recipe beyond the paper (the paper's at their defaults; see the deviations page) ---
    schedule: str = _option("training", "step")  # "step": halve every lr_halve_epochs; "linear": 5 % warm-up, then linear decay to 0
    mask_bias: float = _field("training", _finite, 0.0, ours=True)  # initial bias of the decoders' mask logits (> 0: every neuron starts active)
    copy_weight: float = _field("training", _finite_non_negative, 0.0, ours=True)  # weight-space copy term for the same-depth decoder, annealed linearly to 0 ...
    copy_until: float = _field("training", _fraction, 0.5, ours=True)  # ... at this fraction of the run (1: at its end)
    width: float = _field("training", _width, 1.0, ours=True)  # the autoencoder's channels and hidden FC widths times this (1: the paper's architecture)
    mask_grad: str = _option("mask", "none")  # the decoders' masks in training: "none" (the authors' hard masks) or "straight_through"
    loss_scale: str = _option("training", "none")  # "relative": each MLP's l_j divided by its mean squared output (an error judged relatively)
    encoder_input: str = _option("training", "as_drawn")  # "canonical": the encoders see each MLP's canonical matrix (hidden neurons sorted; swao.method.symmetry)
    # --- the authors' training script where it differs from the paper's text (the paper's at their defaults; authors_recipe) ---
    fc_layers: int = _field("training", _one_of(FC_LAYERS), 4, authors=True)  # FC layers each way: 4 (the paper's text) or 3 (autoencoder.py)
    shortcut_norm: str = _field("training", _one_of(SHORTCUT_NORMS), "none", authors=True)  # "per_mlp": the shortcuts' BatchNorm, one MLP at a time (autoencoder.py, train_autoencoder.py)
    norm_frozen_after: int = _field("training", _int_at_least(0), 0, authors=True)  # train in eval mode after this many epochs (their validation() leaves it there); 0: never
    batches: str = _field("training", _one_of(BATCHES), "stratified", authors=True)  # how a step's MLPs are drawn (BATCHES)
    train_steps: int = _field("training", _int_at_least(0), 0, authors=True)  # the run's steps where the budget is not whole epochs (0: epochs x steps_per_epoch)
    # --- the search beyond the paper (the paper's at their defaults; see swao.method.search) ---
    search_start: str = _option("search", "uniform")  # "uniform": z ~ U[0, 1)^128 (the paper); "encoded": embeddings of real MLPs that decode alive
    search_masks: str = _option("search", "none")  # the decoder's masks during the search: "none" (hard, the paper) or "straight_through"
    search_penalty: str = _option("search", "all")  # eq. 6 over "all" decoded weights (the paper) or only the non-zero ("active") ones
    search_keep_layers: bool = _field("search", _boolean, False, ours=True)  # hold the threshold below every layer's largest weight (no layer cut whole)

    def __post_init__(self) -> None:
        for name, old in LEGACY_VALUES.items():
            if getattr(self, name) in old:
                object.__setattr__(self, name, old[getattr(self, name)])
        for f in dataclasses.fields(self):
            check = _one_of(CHOICES[f.name]) if f.name in CHOICES else f.metadata["check"]
            error = check(f.name, getattr(self, f.name))
            if error:
                raise ValueError(error)
        if self.batches == "authors" and self.copy_weight:
            raise ValueError(f"copy_weight={self.copy_weight} compares each MLP with its same-depth decoding in a batch "
                             "sorted by depth; batches='authors' mixes depths: set copy_weight=0 or batches='stratified'")
        if self.norm_frozen_after and self.shortcut_norm == "none":
            raise ValueError(f"norm_frozen_after={self.norm_frozen_after} freezes the shortcuts' BatchNorm statistics, "
                             "but shortcut_norm is 'none' (no BatchNorm): set shortcut_norm='per_mlp' or norm_frozen_after=0")

    def replace(self, **overrides) -> "Config":
        return with_overrides(self, **overrides)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.train_mlps // self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.train_steps or self.steps_per_epoch * self.epochs

    @property
    def mlp_passes(self) -> int:
        """The MLPs the training run passes through the network (a step's batch times its steps)."""
        return self.total_steps * self.batch_size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def training_dict(self) -> dict:
        """The fields autoencoder training depends on (:data:`TRAINING_FIELDS`): part of its cache key."""
        return {k: getattr(self, k) for k in TRAINING_FIELDS}

    def describe(self) -> str:
        """The sizes that decide a result, each beside the paper's (Section 4), in one line."""
        paper = _SCALES["paper"]

        def share(ours: int, theirs: int) -> str:
            return "the paper's" if ours == theirs else f"{100 * ours / theirs:.3g} % of the paper's {theirs:,}"

        return (
            (f"autoencoders trained on {self.train_mlps:,} MLPs x {self.epochs} epoch(s) " if not self.train_steps else
               f"autoencoders trained on a set of {self.train_mlps:,} MLPs for {self.train_steps:,} steps of {self.batch_size} ")
            + f"({share(self.mlp_passes, paper.mlp_passes)}); "
            f"{self.eval_mlps:,} test MLPs per encoder ({share(self.eval_mlps, paper.eval_mlps)}); "
            f"search {self.search_steps:,} steps ({share(self.search_steps, paper.search_steps)}) on "
            f"{self.search_points:,}-point datasets ({share(self.search_points, paper.search_points)}), "
            f"{self.restarts} restart(s) (the paper gives no number)"
            + (f"; our options beyond the paper: {', '.join(f'{k}={v}' for k, v in self.options().items())}" if self.options() else "")
            + (f"; the authors' training script: batch {self.batch_size}, lr {self.lr:g}, "
               f"{', '.join(f'{k}={v}' for k, v in self.authors_code().items())}" if self.authors_code() else "")
        )

    def schedule_text(self) -> str:
        """The learning rate as this configuration trains it (:func:`swao.training.train.lr_at`), in words."""
        if self.schedule == "linear":
            return (f"lr {self.lr:g}: a linear warm-up over the first {100 * LINEAR_WARMUP:g} % of the "
                    f"{self.total_steps:,} steps, then a linear decay to 0")
        every = self.lr_halve_epochs * self.steps_per_epoch
        halvings = (self.total_steps - 1) // every
        return (f"lr {self.lr:g}, halved every {self.lr_halve_epochs} epoch(s) of {self.steps_per_epoch:,} steps "
                + (f"({halvings} halving(s) in {self.total_steps:,} steps)" if halvings else
                   f"(never, in this run's {self.total_steps:,} steps: a constant rate)"))

    def search_budget(self, seed: int = 0, eval_every: int | None = None) -> SearchBudget:
        """The search's budget at this scale (:class:`swao.method.settings.SearchBudget`): its
        steps and restarts, every decoder, from ``seed``."""
        return SearchBudget(self.search_steps, self.restarts, DEPTHS, seed, eval_every)

    def search_options(self) -> SearchOptions:
        """The search's options at this scale (:class:`swao.method.settings.SearchOptions`)."""
        return SearchOptions(self.search_start, self.search_masks, self.search_penalty, self.search_keep_layers)

    def options(self) -> dict:
        """The options beyond the paper that this configuration turns on (name -> value)."""
        return {k: getattr(self, k) for k in OPTIONS if getattr(self, k) != DEFAULTS[k]}

    def authors_code(self) -> dict:
        """The settings of the authors' code beyond the paper's text that this configuration turns on (name -> value)."""
        return {k: getattr(self, k) for k in AUTHORS_CODE if getattr(self, k) != DEFAULTS[k]}


# The fields an autoencoder's training depends on (its cache key), and our options beyond the
# paper (the book's deviations page names those a configuration turns on): both read from the
# fields' declarations above.
TRAINING_FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["role"] == "training")
OPTIONS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["ours"])
AUTHORS_CODE = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["authors"])
# Each field's default: the value a result written before the field existed was made with.
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}


# The table of scales. Its values enter every cache key, so the code fingerprint leaves this
# assignment out, found by its name (swao.book.fingerprint.fingerprinted): keep the name.
_SCALES: dict[str, Config] = {
    "smoke": Config(
        scale="smoke", train_mlps=512, epochs=1, batch_size=64, lr=1e-3, lr_halve_epochs=2,
        val_mlps=64, val_every=8, checkpoint_every=8, grid_points=10,
        eval_mlps=16, search_points=2_000, search_steps=40, restarts=1,
    ),
    # Small: the recipe study's winner (studies/recipe_study.py, results/recipe/study.json; the
    # book's page "Does it learn at this scale?"): batch 64, lr 5e-4 with a linear warm-up and
    # decay, straight-through masks that start on, the copy term over the first half, a network
    # of half the width; 1,599 steps (34,112 MLPs x 3 epochs), about 2.5 min on 2 cores: the
    # same budget per autoencoder as the recipe it replaces (batch 256, lr 1e-3 halved every
    # epoch, hard masks: 471 steps). Every option beyond the paper is named in the tables'
    # provenance and on the deviations page.
    "small": Config(
        scale="small", train_mlps=34_112, epochs=3, batch_size=64, lr=5e-4, lr_halve_epochs=1,
        val_mlps=400, val_every=533, checkpoint_every=1599, grid_points=10,
        eval_mlps=200, search_points=20_000, search_steps=2_000, restarts=3,
        schedule="linear", mask_bias=2.0, copy_weight=1.0, width=0.5, mask_grad="straight_through",
        # the search study's winner (studies/search_study.py, results/recipe/search.json): the
        # only variant with no searched MLP ending as a constant (0 of 108; the paper's variant: 36)
        search_start="encoded", search_masks="straight_through", search_penalty="active", search_keep_layers=True,
    ),
    # Paper scale: 3.2M MLPs x 4 epochs as the paper, lr halved every 2 epochs as the code;
    # batch 1024 at lr 1e-3 for a GPU (12,500 steps).
    "paper": Config(
        scale="paper", train_mlps=3_200_000, epochs=4, batch_size=1024, lr=1e-3, lr_halve_epochs=2,
        val_mlps=2048, val_every=500, checkpoint_every=1000, grid_points=10,
        eval_mlps=1000, search_points=100_000, search_steps=30_000, restarts=3,
    ),
}


def with_overrides(config: Config, **overrides) -> Config:
    names = {f.name for f in dataclasses.fields(Config)} - {"scale"}
    for key in overrides:
        if key not in names:
            raise ValueError(f"unknown config parameter {key!r}; allowed: {sorted(names)}")
    return dataclasses.replace(config, **overrides)


# The authors' training script (training_autoencoder/sigmoid_based/train_autoencoder.py, autoencoder.py,
# CreateDataset.py, data.py, test.py of their repository), where it differs from the paper's text or
# from our recipes: Adam lr 1e-4 on steps of 32 MLPs drawn as their CreateDataset draws them, StepLR(2,
# 0.5) stepped per epoch, 3 FC layers each way, BatchNorm in the 1x1 shortcuts with the network
# called on one MLP at a time, and eval mode from the end of the first epoch on (their validation()
# calls eval() and nothing calls train() again). Xavier-uniform weights and zero biases: as ours.
AUTHORS_RECIPE = {"batch_size": 32, "lr": 1e-4, "lr_halve_epochs": 2, "schedule": "step", "fc_layers": 3,
                  "shortcut_norm": "per_mlp", "norm_frozen_after": 1, "batches": "authors"}
AUTHORS_EPOCH_STEPS = 150_001  # their epoch: 150,001 steps of 32 MLPs over one fixed set (the seed reset each epoch)


def authors_recipe(config: Config) -> Config:
    """``config`` trained as the authors' script trains: :data:`AUTHORS_RECIPE`, our training
    options beyond the paper off (and the authors' hard masks), the scale's sizes otherwise; at the
    paper scale, their epoch of :data:`AUTHORS_EPOCH_STEPS` steps (4,800,032 MLPs)."""
    ours_off = {k: DEFAULTS[k] for k in OPTIONS if k in TRAINING_FIELDS or k == "mask_grad"}
    sizes = {}
    if config.scale == "paper":  # the paper's 12.8 M MLP passes in steps of 32, over their epoch's fixed set
        steps = config.mlp_passes // AUTHORS_RECIPE["batch_size"]
        sizes = {"train_mlps": AUTHORS_EPOCH_STEPS * AUTHORS_RECIPE["batch_size"], "train_steps": steps,
                 "epochs": -(-steps // AUTHORS_EPOCH_STEPS)}
    return with_overrides(config, **{**ours_off, **AUTHORS_RECIPE, **sizes})


def get_config(scale: str = "small", recipe: str = "ours", **overrides) -> Config:
    """The configuration of a named scale, with optional overrides (validated). ``recipe="authors"``:
    the scale trained as the authors' script trains (:func:`authors_recipe`), then the overrides."""
    if scale not in _SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    config = authors_recipe(_SCALES[scale]) if recipe == "authors" else _SCALES[scale]
    return with_overrides(config, **overrides)


def network(config: Config | dict, mask_grad: str | None = None) -> MultiScaleAutoencoder:
    """The autoencoder a configuration trains (a :class:`Config` or its dict, as a checkpoint's meta
    holds it; fields it lacks read as their defaults), with ``mask_grad`` (default: the config's)."""
    c = config.to_dict() if isinstance(config, Config) else config
    get = lambda k: c.get(k, DEFAULTS[k])  # noqa: E731
    return MultiScaleAutoencoder(mask_grad=get("mask_grad") if mask_grad is None else mask_grad, mask_bias=get("mask_bias"),
                                 width=get("width"), encoder_input=get("encoder_input"), fc_layers=get("fc_layers"),
                                 shortcut_norm=get("shortcut_norm"))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` as given."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
    return torch.device(device)


@contextlib.contextmanager
def cpu_threads(n: int, device="cpu"):
    """Inside the block, torch runs its CPU operators on ``n`` threads; the previous count comes
    back after. The count changes the last bits of a training's sums (a convolution's weight
    gradient is split over the threads), so whatever must give the same numbers wherever it runs
    fixes it. Does nothing unless ``device`` is the CPU (as :func:`cuda_tf32` for CUDA)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be an int >= 1, got {n!r}")
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def cuda_tf32(device, enabled: bool = True):
    """Inside the block, CUDA float32 matmuls (cuBLAS) and convolutions (cuDNN) run in TF32 if
    ``enabled``, else in strict IEEE float32; the previous settings come back after. PyTorch's
    defaults are: matmuls strict, cuDNN convolutions TF32. Does nothing unless ``device`` is CUDA
    (CPU kernels never use TF32, and CPU results stay bit-identical)."""
    if torch.device(device).type != "cuda":
        yield
        return
    old_matmul, old_conv = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old_matmul)
        torch.backends.cudnn.allow_tf32 = old_conv


def setup_run(scale: str, device: str = "cpu", seed: int = 0, **overrides) -> tuple[Config, torch.device]:
    """Validate a notebook's parameters and fix the run's randomness and threads.

    Returns ``(config, device)``. The thread count is fixed (2 at smoke scale, so the nbval
    outputs are the same on every machine; all cores otherwise) and torch's seed is set.
    """
    config = get_config(scale, seed=seed, **overrides)
    dev = resolve_device(device)
    torch.set_num_threads(2 if config.scale == "smoke" else max(1, os.cpu_count() or 1))
    torch.manual_seed(config.seed)
    return config, dev
