"""How the book writes a number: one rule for every table, summary and claim.

An MPE above :data:`ABSURD` % is a mean driven by a few MLPs whose outputs come near zero; its
digits mean nothing, so it is written ``"> 10,000"``, never in e-notation or with 20 digits.
"""
from __future__ import annotations

ABSURD = 10_000  # a value (an MPE, in %) at or above this is shown as "> 10,000": no e-notation


def fmt(value: float | None, digits: int = 2) -> str:
    """A number as the book prints it: ``digits`` decimals below 1,000, thousands separated
    and no decimals up to :data:`ABSURD`, ``"> 10,000"`` above, ``–`` for none."""
    if value is None:
        return "–"
    if value != value:
        return "nan"
    if abs(value) >= ABSURD:
        return f"{'> ' if value > 0 else '< -'}{ABSURD:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def slash(values, digits: int = 1) -> str:
    """Per-encoder values as ``"a / b / c / d"``, each by :func:`fmt`."""
    return " / ".join(fmt(v, digits) for v in values)


__all__ = ["ABSURD", "fmt", "slash"]
