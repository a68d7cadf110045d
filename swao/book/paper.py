"""The paper's numbers: Tables 1-3, transcribed once into ``swao/data/paper_tables.json``."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PAPER_TABLES = Path(__file__).resolve().parent.parent / "data" / "paper_tables.json"
# Section 4.1: "The entire training process for each autoencoder takes approximately 48 hours using
# an NVIDIA RTX A5000 GPU" (3.2 M MLPs x 4 epochs).
PAPER_TRAINING = {"hours_per_autoencoder": 48, "hardware": "an NVIDIA RTX A5000 GPU"}


@lru_cache(maxsize=1)
def paper_tables() -> dict:
    """The paper's Tables 1-3 (see the ``source`` entry for how they were transcribed)."""
    return json.loads(PAPER_TABLES.read_text())


def paper_tradeoff_points() -> list[dict]:
    t = paper_tables()["table2"]
    return [{"activation": act, "mpe": m, "nonzeros": n}
            for act in t["mpe"] for row_m, row_n in zip(t["mpe"][act], t["nonzeros"][act]) for m, n in zip(row_m, row_n)]


__all__ = ["PAPER_TRAINING", "paper_tables", "paper_tradeoff_points"]
