"""The paper's Tables 1-3 as data, and our tables set beside them.

The paper's numbers are transcribed once into ``swao/data/paper_tables.json``. A regenerated
table shows, per cell, our value, the paper's and the difference, and says which scale and
hardware produced ours. Tables render as Markdown in the book and as the same text in plain
output (so nbval checks every digit).
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DECODERS = ("D1", "D2", "D3", "D4")
ENCODERS = ("E1", "E2", "E3", "E4")
DATASETS = {"2hl": "2 HL (14)", "3hl": "3 HL (35)", "4hl": "4 HL (48)"}
TYPE_NAMES = {"sigmoid": "Sigmoid-based", "leaky_relu": "Leaky ReLU-based", "linear": "Linear-based"}


@lru_cache(maxsize=1)
def paper_tables() -> dict:
    """The paper's Tables 1-3 (see the ``source`` entry for how they were transcribed)."""
    return json.loads((Path(__file__).parent / "data" / "paper_tables.json").read_text())


@dataclass
class Table:
    """A Markdown table with a caption and a provenance note."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    align: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        align = self.align or ["---"] * len(self.header)
        lines = [f"**{self.caption}**", "", "| " + " | ".join(self.header) + " |", "| " + " | ".join(align) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if value != value:
        return "nan"
    if abs(value) >= 1000:
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


def compare_cell(ours: float | None, paper: float | None, digits: int = 1) -> str:
    """``ours (paper P, Δ D)``: the three numbers a reader needs in one cell."""
    if ours is None:
        return f"– (paper {fmt(paper, 2)})"
    if paper is None:
        return fmt(ours, digits)
    return f"{fmt(ours, digits)} (paper {fmt(paper, 2)}, Δ {ours - paper:+.{digits}f})"


def provenance_note(prov: dict | None) -> str:
    """One line naming the scale and hardware that produced a result."""
    if not prov:
        return "Ours: provenance unknown."
    return (
        f"Ours: **{prov.get('scale', '?')} scale** on {prov.get('hardware', prov.get('device', '?'))}, "
        f"swao {prov.get('swao', '?')} @ {prov.get('commit', '?')}, {prov.get('date', '?')}."
        + (f" Sizes: {prov['sizes']}." if prov.get("sizes") else "")
    )


def mpe_table(ours: list[list[float]], paper: list[list[float]] | None, caption: str, prov: dict | None) -> Table:
    """A Table 1/3 block: rows decoders D1..D4, columns encoders E1..E4, cells ours vs paper."""
    rows = []
    for j, d in enumerate(DECODERS):
        rows.append([d] + [compare_cell(ours[j][i], paper[j][i] if paper else None) for i in range(len(ENCODERS))])
    best = [min(range(4), key=lambda j: ours[j][i]) for i in range(4)]
    rows.append(["best D"] + [f"D{b + 1} ({fmt(ours[b][i], 1)})" for i, b in enumerate(best)])
    return Table(caption, ["decoder \\ encoder"] + list(ENCODERS), rows, provenance_note(prov))


def table1(ours_by_loss: dict[str, list[list[float]]], prov: dict | None) -> list[Table]:
    """Table 1: sigmoid-based AE MPE (%), one block per loss (``min``, ``p=0.5``, ``p=1``)."""
    paper = paper_tables()["table1"]["blocks"]
    return [
        mpe_table(ours, paper.get(loss), f"Table 1 ({loss} loss): AE MPE (%) of sigmoid-based MLPs", prov)
        for loss, ours in ours_by_loss.items()
    ]


def table3(ours_by_type: dict[str, list[list[float]]], prov: dict | None) -> list[Table]:
    """Table 3: leaky-ReLU- and linear-based AE MPE (%) with the min loss."""
    paper = paper_tables()["table3"]["blocks"]
    return [
        mpe_table(ours, paper.get(act), f"Table 3 ({TYPE_NAMES[act]}, min loss): AE MPE (%)", prov)
        for act, ours in ours_by_type.items()
    ]


def robust_table(results: dict[str, dict], prov: dict | None) -> Table:
    """Per autoencoder and encoder: the MPE of each test MLP's best decoder, median (mean) over
    the MLPs (:func:`swao.experiments.mpe_table`'s ``best_median`` / ``best_mean``). The paper
    reports only means per decoder, so there is nothing of its to set beside."""
    rows = [[name] + [f"{fmt(m)} ({fmt(a)})" for m, a in zip(r["best_median"], r["best_mean"])]
            for name, r in results.items() if "best_median" in r]
    return Table("Each test MLP's best decoder: median (mean) MPE % over the test MLPs, per encoder",
                 ["autoencoder"] + list(ENCODERS), rows, provenance_note(prov))


def table2(mpe: dict[str, list[list[float]]], nonzeros: dict[str, list[list[float]]], prov: dict | None,
           caption: str = "Table 2: searched MLPs, test MPE % (non-zeros)") -> Table:
    """Table 2: per type x decoder (rows) and dataset (columns), ``MPE (nz)`` ours vs paper."""
    paper = paper_tables()["table2"]
    rows = []
    for act in mpe:
        for j, d in enumerate(DECODERS):
            cells = []
            for k, ds in enumerate(DATASETS):
                ours = f"{fmt(mpe[act][j][k])} ({int(round(nonzeros[act][j][k]))})"
                theirs = f"{fmt(paper['mpe'][act][j][k])} ({paper['nonzeros'][act][j][k]})"
                cells.append(f"{ours} [paper {theirs}]")
            rows.append([TYPE_NAMES[act] if j == 0 else "", d] + cells)
    return Table(caption, ["MLP type", "decoder"] + list(DATASETS.values()), rows, provenance_note(prov))


def best_decoder(cells: dict) -> tuple[str, dict]:
    """The decoder whose best restart has the lowest *validation* loss (chosen without the test
    set; a diverged one, ``None``, counts as worst)."""
    key = lambda kv: float("inf") if kv[1].get("val_loss") is None else kv[1]["val_loss"]  # noqa: E731
    return min(cells.items(), key=key)


def baselines_table(results: dict, prov: dict | None) -> Table:
    """Does the embedding help? Per MLP type and dataset, each method's depth with the lowest
    validation loss: the search, direct sparse training, dense training + magnitude pruning."""
    methods = [m for m in ("search", "direct", "pruned") if all(m in e for e in results["types"].values())]
    names = {"search": "embedding search", "direct": "direct sparse", "pruned": "dense + prune"}
    rows, wins = [], 0
    for act, entry in results["types"].items():
        for ds in entry["search"]:
            cells, best = [], {}
            for m in methods:
                dec, c = best_decoder(entry[m][ds])
                best[m] = c["mpe"]
                cells.append(f"{fmt(c['mpe'])} ({c['nonzeros']}, {dec})")
            ok = [v for m, v in best.items() if v is not None and m != "search"]
            if best["search"] is not None and ok and best["search"] <= min(ok):
                wins += 1
            rows.append([TYPE_NAMES[act], DATASETS.get(ds, ds)] + cells)
    total = len(rows)
    note = provenance_note(prov) + f" The search is best on {wins} of {total} datasets."
    return Table("Search against baselines: test MPE % (non-zeros, depth) of the depth chosen by validation loss",
                 ["MLP type", "dataset"] + [names[m] for m in methods], rows, note)


def tradeoff_points(results: dict, method: str = "search") -> list[dict]:
    """Every searched MLP (all decoders and restarts) as ``{activation, mpe, nonzeros}``."""
    pts = []
    for act, entry in results["types"].items():
        for ds, cells in entry[method].items():
            for dec, c in cells.items():
                pts += [{"activation": act, "dataset": ds, "decoder": dec, "mpe": m, "nonzeros": n}
                        for m, n in zip(c["mpe_all"], c["nonzeros_all"])]
    return pts


TRADEOFF_BINS = ((0, 10), (10, 20), (20, 40), (40, 400))


def tradeoff_table(points: list[dict], prov: dict | None) -> Table:
    """Figure 4 in numbers: the searched MLPs binned by non-zero count, median test MPE per bin."""
    rows = []
    for lo, hi in TRADEOFF_BINS:
        ms = [p["mpe"] for p in points if lo <= p["nonzeros"] < hi and p["mpe"] is not None]
        if ms:
            rows.append([f"{lo} to {hi - 1}", str(len(ms)), fmt(statistics.median(ms))])
    return Table("Compactness against error: searched MLPs by non-zero count", ["non-zeros", "MLPs", "median test MPE %"],
                 rows, provenance_note(prov))


def paper_tradeoff_points() -> list[dict]:
    t = paper_tables()["table2"]
    return [{"activation": act, "mpe": m, "nonzeros": n}
            for act in t["mpe"] for row_m, row_n in zip(t["mpe"][act], t["nonzeros"][act]) for m, n in zip(row_m, row_n)]


def spread_table(results: dict, prov: dict | None) -> Table:
    """Spread over restarts: per type x decoder x dataset, test MPE mean ± std (best)."""
    rows = []
    for act, entry in results["types"].items():
        decs = list(next(iter(entry["search"].values())))
        for k, dec in enumerate(decs):
            row = [TYPE_NAMES[act] if k == 0 else "", dec]
            for ds in entry["search"]:
                c = entry["search"][ds][dec]
                row.append(f"{fmt(c['mpe_mean'])} ± {fmt(c['mpe_std'])} (best {fmt(c['mpe'])})")
            rows.append(row)
    R = results.get("restarts", "?")
    return Table(f"Spread over {R} restarts: test MPE % mean ± std (best by validation)",
                 ["MLP type", "decoder"] + [DATASETS.get(d, d) for d in next(iter(results["types"].values()))["search"]], rows,
                 provenance_note(prov))
