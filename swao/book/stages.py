"""What the book computes, declared once: the paper's five autoencoders, the stages of results
and what each is computed from, the notebooks and the stages they read; where exported runs
live (``results/<scale>/``); the committed studies, the script behind each and the pages that
read it.

The five autoencoders of the paper (Section 4.1, Tables 1 and 3): sigmoid-based with the min
loss, p = 0.5 and p = 1; leaky-ReLU- and linear-based with min.
"""
from __future__ import annotations

import os
from pathlib import Path

from swao.book.cache import ROOT, read_json
from swao.method.activations import ACTIVATIONS
from swao.method.options import MASK_GRADS
from swao.training.config import Config

# (activation, loss, p): the paper's five autoencoders. Keys name them in results.
AUTOENCODERS = {
    "sigmoid-min": ("sigmoid", "min", None),
    "sigmoid-p0.5": ("sigmoid", "pnorm", 0.5),
    "sigmoid-p1": ("sigmoid", "pnorm", 1.0),
    "leaky_relu-min": ("leaky_relu", "min", None),
    "linear-min": ("linear", "min", None),
}


def mlp_type(name: str) -> str:
    """The MLP type of one of :data:`AUTOENCODERS` (``"sigmoid-p0.5"`` -> ``"sigmoid"``)."""
    return AUTOENCODERS[name][0]


MIN_LOSS = {"sigmoid": "sigmoid-min", "leaky_relu": "leaky_relu-min", "linear": "linear-min"}
FIGURE2_MLPS = 3  # MLPs per type in Figure 2
YOUR_DATA_TYPES = ("sigmoid",)  # the autoencoder the your-data page searches with (STAGES["your_data"])

# ------------------------------------------------------------------ what depends on what
# The one declaration of the book's results: each stage with the autoencoders, as (name,
# mask_grad), that it is computed from (the search's result holds the baselines, which are
# trained against its non-zero counts). `swao reproduce` (its stages and --plan), the book's
# compute stage (book/build.py) and the fixture the nbval copies render from all read it.
CONFIG_MASK_GRAD = "config"  # in a stage: the scale's own mask_grad (Config.mask_grad)
_ALL = tuple((n, CONFIG_MASK_GRAD) for n in AUTOENCODERS)
_MIN = tuple((MIN_LOSS[a], CONFIG_MASK_GRAD) for a in ACTIVATIONS)
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "autoencoders": _ALL,  # training histories and validation tables (notebook 03)
    "tables": _ALL,  # Tables 1 and 3 with their robust views
    "figure2": _MIN,
    "search": _MIN,  # Table 2, Figures 3-6, the three baselines, the spread over restarts
    "embedding": _MIN,
    "mask_grad": tuple(("sigmoid-min", mg) for mg in MASK_GRADS),  # both kinds of mask, whatever the scale's
    "your_data": tuple((MIN_LOSS[a], CONFIG_MASK_GRAD) for a in YOUR_DATA_TYPES),
}
# The notebooks of the book and the stages they read; 00-02 read none (they take seconds).
NOTEBOOK_STAGES: dict[str, tuple[str, ...]] = {
    "03_autoencoder_training": ("autoencoders",),
    "04_mpe_evaluation": ("tables", "figure2"),
    "05_sparse_search": ("search",),
    "06_beyond_the_paper": ("search", "embedding", "mask_grad"),
    "07_does_it_learn": ("tables",),
    "08_findings": ("tables", "search", "embedding"),
    "09_your_data": ("your_data",),
}

# The committed studies, made once at a cost the book does not pay again: each result file under
# results/ (without ".json"), the script that makes it, and the pages that read it (none: cited
# only, on the deviations page or in benchmarks/RESULTS.md). Each file's own "command" says how.
STUDIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "diagnostic/depth1-sigmoid": ("studies/depth1_diagnostic.py", ("07_does_it_learn",)),
    "diagnostic/depth1-sigmoid-hardmask": ("studies/depth1_diagnostic.py", ("07_does_it_learn",)),
    "diagnostic/memorisation-sigmoid": ("studies/memorisation.py", ("07_does_it_learn",)),
    "recipe/study": ("studies/recipe_study.py", ("07_does_it_learn",)),
    "recipe/batch": ("studies/recipe_study.py", ()),
    "recipe/batch-passes": ("studies/recipe_study.py", ()),
    "recipe/search": ("studies/search_study.py", ("07_does_it_learn",)),
    "scaling/sigmoid-min": ("studies/training_scaling.py", ("07_does_it_learn", "08_findings", "10_symmetry")),
    "symmetry/sigmoid-min": ("studies/symmetry_study.py", ("07_does_it_learn", "08_findings", "10_symmetry")),
    "paper-budget/pilot": ("studies/paper_budget.py", ()),
    "paper-budget/curve": ("studies/paper_budget.py", ("07_does_it_learn", "08_findings")),
    "paper-budget/table1": ("studies/paper_budget.py", ("04_mpe_evaluation", "07_does_it_learn", "08_findings")),
    "paper-budget/table2": ("studies/paper_budget.py", ("05_sparse_search", "08_findings")),
    "paper-budget/your_data": ("studies/paper_budget.py", ("09_your_data",)),
    "paper-budget-authors/curve": ("studies/paper_budget.py", ("07_does_it_learn", "08_findings")),
    "paper-budget-authors/table1": ("studies/paper_budget.py", ("04_mpe_evaluation", "07_does_it_learn", "08_findings")),
    "paper-budget-authors/table2": ("studies/paper_budget.py", ("05_sparse_search", "08_findings")),
}


def check_stages(stages) -> tuple[str, ...]:
    """``stages`` in :data:`STAGES` order; a clear error for an unknown one or none."""
    stages = tuple(stages)
    bad = sorted(set(stages) - set(STAGES))
    if bad or not stages:
        raise ValueError(f"stages must be one or more of {tuple(STAGES)}, got {bad or 'none'}")
    return tuple(s for s in STAGES if s in stages)


def stages_for(notebooks) -> tuple[str, ...]:
    """The stages that the named notebooks (stems, as in :data:`NOTEBOOK_STAGES`) read."""
    wanted = {s for nb in notebooks for s in NOTEBOOK_STAGES.get(nb, ())}
    return tuple(s for s in STAGES if s in wanted)


def autoencoders_for(stages, config: Config | None = None) -> list[tuple[str, str]]:
    """The ``(name, mask_grad)`` autoencoders that ``stages`` are computed from, sorted; with a
    ``config``, :data:`CONFIG_MASK_GRAD` resolved to its ``mask_grad`` (one autoencoder, not two,
    where a stage names that value itself)."""
    resolve = (lambda mg: mg) if config is None else (lambda mg: resolve_mask_grad(config, mg))  # noqa: E731
    return sorted({(n, resolve(mg)) for s in check_stages(stages) for n, mg in STAGES[s]})


def resolve_mask_grad(config: Config, mask_grad: str) -> str:
    """``mask_grad``, or the scale's own for :data:`CONFIG_MASK_GRAD`."""
    return config.mask_grad if mask_grad == CONFIG_MASK_GRAD else mask_grad


def results_root() -> Path:
    """Where ``swao reproduce`` exports runs: ``$SWAO_RESULTS`` or ``<repo>/results``."""
    return Path(os.environ.get("SWAO_RESULTS", ROOT / "results"))


def exported(scale: str, name: str) -> dict | None:
    """A result exported by :func:`swao.book.reproduce.reproduce` (e.g. a paper-scale run on a GPU), or ``None``."""
    path = results_root() / scale / f"{name}.json"
    return read_json(path) if path.exists() else None


def read_study(path) -> dict:
    """A study's result file given by its path (a notebook's parameter: your own run of a
    ``studies/`` script), read as JSON; a clear error naming the path if it is not there."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"study_path: no file at {path} (the --out of a studies/ script run, or None for the committed one)")
    return read_json(path)


def exported_config(scale: str, name: str = "run") -> Config | None:
    """The config an exported result of ``scale`` was made with (``run.json``'s by default;
    ``"search"``: the search's own), or ``None``."""
    result = exported(scale, name)
    return None if result is None or "config" not in result else Config(**result["config"])


__all__ = ["AUTOENCODERS", "MIN_LOSS", "FIGURE2_MLPS", "YOUR_DATA_TYPES", "CONFIG_MASK_GRAD", "STAGES", "NOTEBOOK_STAGES", "STUDIES", "mlp_type",
           "check_stages", "stages_for", "autoencoders_for", "resolve_mask_grad", "results_root", "exported", "exported_config", "read_study"]
