"""swao: a reproducible companion to "Simultaneous Weight and Architecture Optimization for
Neural Networks" (Huang, Montazerin, Srivastava; arXiv 2410.08339).

The package is laid out by layer; each imports only from the layers above it in this list:

* :mod:`swao.method`: the paper's equations (representation, forward pass, generation, the
  autoencoder, its losses, MPE, sparsity, the search);
* :mod:`swao.training`: the scales' configurations, the training loop, checkpoints, evaluation;
* :mod:`swao.ours`: what we add (baselines, export in the user's units, Feynman and CSV data,
  the Table 2 comparison, the embedding and scaling studies' arithmetic);
* :mod:`swao.book`: the book's results, computed once and cached; ``swao reproduce``; findings;
* :mod:`swao.render` (tables, reports, plots, widgets) and :mod:`swao.cli` (the ``swao`` command).
"""
import os

# libgomp threads spin ~300,000 times at each barrier before sleeping: on a shared CPU, several
# multi-threaded processes then stall each other (measured 40x slower on the 2-core machine).
# A short spin keeps the idle-machine speed (benchmarks/RESULTS.md). libgomp reads it once, when
# torch is first imported: set here, before any swao module imports torch, it applies wherever
# swao trains (the CLI, the book, a study); a value already in the environment wins.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"
