"""The allowed values of the method's named options, each declared once: the functions that take
them check against these, and :mod:`swao.training.config` offers them as a scale's settings.

A module of constants only (it imports nothing), so that a configuration can name them without
depending on the code that uses them (an autoencoder's cache key does not read the search).
"""

# The decoders' 0/1 neuron masks (swao.method.model, in training; swao.method.search, in a search):
# "none": no gradient reaches the mask logits (the authors' hard masks); "straight_through" (ours):
# the sigmoid's gradient passes through the hard 0/1 value.
MASK_GRADS = ("none", "straight_through")
# How each MLP's l_j is scaled before eq. 2/3 (swao.method.losses): "none" (the paper) or
# "relative" (ours: divided by the MLP's mean squared output).
LOSS_SCALES = ("none", "relative")
# Where the search starts (swao.method.search): "uniform", z ~ U[0, 1)^128 (the paper), or
# "encoded" (ours): embeddings of random MLPs that decode alive.
STARTS = ("uniform", "encoded")
# What eq. 6 sums over (swao.method.sparsity): "all" decoded weights (the paper) or only the
# non-zero ("active") ones (ours).
PENALTIES = ("all", "active")

# What the encoders see (swao.method.model): each MLP's matrix "as_drawn" (the paper) or its
# "canonical" member of the permutation orbit (ours: swao.method.symmetry, hidden neurons sorted).
ENCODER_INPUTS = ("as_drawn", "canonical")

# The autoencoder's FC layers each way (swao.method.model): 4 (the paper's text) or 3 (the authors' code).
FC_LAYERS = (4, 3)
# Its residual blocks' 1x1 shortcuts (swao.method.model): "none", a plain conv (ours, as the paper
# draws it), or "per_mlp", the authors' code's conv + BatchNorm, run as their loop runs it (one
# MLP at a time in training mode, the running statistics in eval mode).
SHORTCUT_NORMS = ("none", "per_mlp")

__all__ = ["MASK_GRADS", "LOSS_SCALES", "STARTS", "PENALTIES", "ENCODER_INPUTS", "FC_LAYERS", "SHORTCUT_NORMS"]
