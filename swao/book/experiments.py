"""Every result of the book, in one namespace for the notebooks (``from swao.book import
experiments``): each is computed once per configuration and cached (:mod:`swao.book.cache`).

The notebooks call these functions; each returns plain JSON-able data (plus a loaded model
where one is needed), computing it on the first call and reading it from ``cache/`` after.
``swao reproduce --scale S --device D`` (:mod:`swao.book.reproduce`) computes them all and
exports the small results with their provenance to ``results/<scale>/`` (committed for the
paper scale, made on a GPU), so the book can show a paper-scale result without rerunning it.

The book build computes first, in the foreground (``swao reproduce --no-export`` over the stages
its notebooks read, :data:`NOTEBOOK_STAGES`), then renders with ``SWAO_NO_COMPUTE=1``: a result
missing then stops its notebook with :class:`swao.book.cache.MissingResult`. A notebook run
alone (papermill with other parameters) computes what is missing, with progress bars.

Where each lives: :mod:`swao.book.stages` (what is computed from what, exported runs),
:mod:`swao.book.autoencoders` (the five autoencoders, Tables 1 and 3, Figure 2),
:mod:`swao.book.searches` (Table 2, Figures 3-6), :mod:`swao.book.ablations` (the embedding and
mask-gradient studies), :mod:`swao.book.your_data` (the your-data page).
"""
from __future__ import annotations

from swao.book.ablations import embedding_pairs, embedding_study, mask_grad_study
from swao.book.autoencoders import (autoencoder, autoencoder_cached, autoencoder_folder, autoencoder_parts,
                                    autoencoder_result, book_autoencoders, figure2, mpe_table,
                                    validation_floors)
from swao.book.searches import (dataset_floors, search_cached, search_frames, search_jobs, search_results, search_type,
                                searched_views)
from swao.book.stages import (AUTOENCODERS, CONFIG_MASK_GRAD, FIGURE2_MLPS, MIN_LOSS, NOTEBOOK_STAGES, STAGES,
                              YOUR_DATA_TYPES, autoencoders_for, check_stages, exported, exported_config,
                              read_study, resolve_mask_grad, results_root, stages_for)
from swao.book.your_data import your_data_cached, your_data_datasets, your_data_results, your_data_views

__all__ = [
    "AUTOENCODERS", "MIN_LOSS", "FIGURE2_MLPS", "YOUR_DATA_TYPES", "CONFIG_MASK_GRAD", "STAGES", "NOTEBOOK_STAGES",
    "check_stages", "stages_for", "autoencoders_for", "resolve_mask_grad", "results_root", "exported", "exported_config", "read_study",
    "autoencoder_parts", "autoencoder_folder", "autoencoder_cached", "autoencoder_result", "autoencoder", "mpe_table",
    "validation_floors",
    "figure2", "book_autoencoders", "search_results", "search_type", "search_jobs", "search_cached", "searched_views", "dataset_floors",
    "search_frames", "your_data_datasets", "your_data_results", "your_data_cached", "your_data_views", "embedding_pairs", "embedding_study", "mask_grad_study",
]
