"""swao: a reproducible companion to "Simultaneous Weight and Architecture Optimization for
Neural Networks" (Huang, Montazerin, Srivastava; arXiv 2410.08339)."""
__version__ = "0.1.0"
