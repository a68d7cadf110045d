"""A user's dataset from a CSV file, for ``swao search --dataset PATH.csv``.

Three input columns and one output column, split train / valid / test 5:3:2 like the generated
search datasets (:func:`swao.method.generation.target_dataset`), so any search runs on it unchanged.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from swao.method.generation import split

MIN_CSV_ROWS = 10  # so that each of the 5:3:2 splits gets a row


def load_csv(path: str | Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """A user dataset: 3 input columns and 1 output column, header optional.

    Rows are shuffled (seed) and split train/valid/test 5:3:2 like the generated datasets.
    Raises ``ValueError`` naming the file and the row (1-based, as in an editor) for a wrong
    column count, a non-number, NaN/Inf, and naming the file for fewer than 10 rows or an output
    column with one value only (nothing to fit).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    rows: list[list[float]] = []
    seen_line = False
    with path.open(newline="") as f:
        for i, fields in enumerate(csv.reader(f), start=1):
            if not fields or all(not s.strip() for s in fields):
                continue
            header_allowed, seen_line = not seen_line, True
            if len(fields) != 4:
                raise ValueError(f"{path}, row {i}: expected 4 columns (3 inputs, 1 output), got {len(fields)}")
            values, bad = [], []
            for c, s in enumerate(fields, start=1):
                try:
                    values.append(float(s))
                except ValueError:
                    bad.append((c, s.strip()))
            if bad:
                if header_allowed and len(bad) == 4:
                    continue  # the header line
                raise ValueError(f"{path}, row {i}, column {bad[0][0]}: {bad[0][1]!r} is not a number")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{path}, row {i}: NaN or Inf is not allowed")
            rows.append(values)
    if len(rows) < MIN_CSV_ROWS:
        raise ValueError(f"{path}: too few rows: {len(rows)} data rows, need at least {MIN_CSV_ROWS} for the 5:3:2 split")
    if len({r[3] for r in rows}) == 1:
        raise ValueError(f"{path}: the output column (column 4) is constant ({rows[0][3]!r} on all {len(rows)} rows); "
                         "a search needs outputs that vary")
    data = torch.tensor(rows, dtype=torch.float32)
    data = data[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))]
    return split(data[:, :3], data[:, 3])


__all__ = ["load_csv", "MIN_CSV_ROWS"]
