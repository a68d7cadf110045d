"""What a trained autoencoder is: its cache key.

:func:`autoencoder_spec` names everything an autoencoder's weights depend on (the configuration's
training fields, the MLP type, the loss and its ``p``, the mask gradient), validated. A run's
checkpoint records it, a resumed run must match it, ``swao train`` prints it, and the book keys
its cached autoencoders by it (:func:`swao.book.autoencoders.autoencoder_parts`).
"""
from __future__ import annotations

from swao.method import losses
from swao.method.activations import check_activation
from swao.method.model import MASK_GRADS
from swao.training.config import Config


def autoencoder_spec(config: Config, activation: str, loss: str = "min", p: float | None = None,
                     mask_grad: str | None = None) -> dict:
    """Everything a trained autoencoder depends on, validated: ``{"config", "activation", "loss",
    "p", "mask_grad"}``, ``config`` as its training fields only (:meth:`Config.training_dict`: the
    search's and the evaluation's sizes do not change it) and ``mask_grad`` ``None`` resolved to the
    config's. Its checkpoint records it, a resumed run must match it, and it is the book's cache
    key of the autoencoder (:func:`swao.book.autoencoders.autoencoder_parts`): ``swao train`` and
    the book describe a run through this one function."""
    if not isinstance(config, Config):
        raise ValueError(f"config must be a swao.training.config.Config, got {type(config).__name__}")
    mask_grad = config.mask_grad if mask_grad is None else mask_grad
    if mask_grad not in MASK_GRADS:
        raise ValueError(f"mask_grad must be one of {MASK_GRADS}, got {mask_grad!r}")
    return {"config": config.training_dict(), "activation": check_activation(activation), "loss": loss,
            "p": losses.check_loss(loss, p), "mask_grad": mask_grad}


SPEC_KEYS = frozenset({"config", "activation", "loss", "p", "mask_grad"})  # what autoencoder_spec names


def as_spec(config: Config, trained: str | dict) -> dict:
    """What is trained, as :func:`autoencoder_spec` names it: ``trained`` is one already, or just
    an MLP type (then the min loss, eq. 3, and the config's masks)."""
    if isinstance(trained, str):
        return autoencoder_spec(config, trained)
    if not isinstance(trained, dict) or set(trained) != SPEC_KEYS:
        got = f"keys {sorted(trained)}" if isinstance(trained, dict) else repr(trained)
        raise ValueError(f"trained must be an MLP type or an autoencoder_spec (keys {sorted(SPEC_KEYS)}), got {got}")
    return trained


__all__ = ["autoencoder_spec", "as_spec", "SPEC_KEYS"]
