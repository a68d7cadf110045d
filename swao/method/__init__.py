"""The paper's method, readable on its own: an MLP as a matrix (eq. 1), its forward pass, the
random sparse MLPs of the appendix, the multi-scale autoencoder (Figure 1) and its losses (eq. 2,
3), the MPE (eq. 7), the sparsity switch and penalty (eq. 5, 6) and the search (Section 3.2).
Imports nothing else of swao."""
