"""The paper's Tables 1-3 as data, and our tables set beside them.

The paper's numbers are transcribed once into ``swao/data/paper_tables.json``
(:func:`swao.book.paper.paper_tables`). A regenerated
table shows, per cell, our value, the paper's and the difference, and says which scale and
hardware produced ours. Tables render as Markdown in the book and as the same text in plain
output (so nbval checks every digit).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from swao.book.numbers import fmt
from swao.book.paper import paper_tables
from swao.method.activations import TYPE_NAMES
from swao.method.metrics import NEAR_CONSTANT
from swao.ours.table2 import DATASETS, METHODS, best_decoder
from swao.training.evaluation import ABSURD_MPE

DECODERS = ("D1", "D2", "D3", "D4")
ENCODERS = ("E1", "E2", "E3", "E4")


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


_PAGE: dict = {}  # the provenance a page has shown in full (page_provenance), and the last one a note gave in full
_SAME = ("scale", "hardware", "swao", "commit", "torch", "sizes")  # what makes two provenances one


def page_provenance(prov: dict | None) -> str:
    """The provenance of a page's results, in full, once at its top; the tables after it whose
    results share it (same scale, hardware, code and sizes) then name only their scale
    (:func:`provenance_note`). Markdown."""
    _PAGE["key"] = tuple((prov or {}).get(k) for k in _SAME)
    _PAGE.pop("last", None)
    return "**Provenance of this page's results.** " + _full_note(prov)


def provenance_note(prov: dict | None) -> str:
    """One line naming the scale and hardware that produced a result; after
    :func:`page_provenance` showed the same provenance, only the scale and a pointer to it, and
    right after a note that gave the same provenance in full, only the scale and "as above"."""
    key = tuple(prov.get(k) for k in _SAME) if prov else None
    last, _PAGE["last"] = _PAGE.get("last"), key
    if prov and _PAGE.get("key") == key:
        return _short_note(prov, "at the top of the page")
    if prov and last == key:
        return _short_note(prov, "as above")
    return _full_note(prov)


def _short_note(prov: dict, where: str) -> str:
    """The scale, where a result has one (a study's may not), and where its provenance was given."""
    return f"Ours: **{prov['scale']} scale** (provenance {where})." if prov.get("scale") else f"Ours: provenance {where}."


def _full_note(prov: dict | None) -> str:
    if not prov:
        return "Ours: provenance unknown."
    return (
        (f"Ours: **{prov['scale']} scale** on " if prov.get("scale") else "Ours: on ")
        + f"{prov.get('hardware', prov.get('device', '?'))}, "
        f"swao {prov.get('swao', '?')} @ {prov.get('commit', '?')}"
        + (f", torch {prov['torch']}" if prov.get("torch") else "") + f", {prov.get('date', '?')}."
        + (f" Sizes: {prov['sizes']}." if prov.get("sizes") else "")
    )


def _bold_best(values: list[float | None], digits: int, absurd: list[int] | None = None) -> list[str]:
    """The values as text, the lowest in bold. With ``absurd`` (per value, the MLPs whose own MPE
    is at least :data:`swao.training.evaluation.ABSURD_MPE` %), a mean at or above it reads
    ``"> 1,000 (k)"``: its digits come from those k MLPs, not from the rest."""
    known = [v for v in values if v is not None]
    low = min(known) if known else None

    def text(k, v):
        if absurd is not None and v is not None and v >= ABSURD_MPE:
            return f"> {ABSURD_MPE:,.0f} ({absurd[k]})"
        return fmt(v, digits)

    return [text(k, v) if v is None or v != low else f"**{text(k, v)}**" for k, v in enumerate(values)]


def mpe_block(ours: list[list[float]], paper: list[list[float]] | None, caption: str, prov: dict | None,
              floors: dict | None = None, absurd: list[list[int]] | None = None) -> Table:
    """A Table 1/3 block, ours and the paper's side by side: rows decoders D1..D4, columns
    encoders E1..E4, the best decoder per encoder in bold in each block; ``floors``
    (:func:`swao.training.diagnostics.floors` on the same test MLPs) adds the mean MPE of the oracle
    constant and of the linear fit per encoder, which the paper does not report."""
    n = len(ENCODERS)
    ours_cols = [_bold_best([ours[j][e] for j in range(4)], 1, [absurd[j][e] for j in range(4)] if absurd else None)
                 for e in range(n)]
    paper_cols = [_bold_best([paper[j][e] for j in range(4)], 2) if paper else ["–"] * 4 for e in range(n)]
    rows = [[d] + [ours_cols[e][j] for e in range(n)] + [paper_cols[e][j] for e in range(n)] for j, d in enumerate(DECODERS)]
    for name, label in (("constant", "floor: oracle constant"), ("linear", "floor: linear fit")):
        if floors:
            rows.append([f"*{label}*"] + [f"*{fmt(v, 1)}*" for v in floors[name]["mean"]] + ["–"] * n)
    best = [min(range(4), key=lambda j: ours[j][e]) for e in range(n)]
    paper_best = [min(range(4), key=lambda j: paper[j][e]) for e in range(n)] if paper else None
    rows.append(["best decoder"] + [f"D{b + 1}" for b in best] + ([f"D{b + 1}" for b in paper_best] if paper_best else ["–"] * n))
    header = ["decoder"] + [f"ours {e}" for e in ENCODERS] + [f"paper {e}" for e in ENCODERS]
    note = ("Mean MPE % over the test MLPs of each encoder, ours and the paper's side by side; the lowest per encoder in bold"
            + (f"; '> {ABSURD_MPE:,.0f} (k)': a mean at or above {ABSURD_MPE:,.0f} %, made by the k test MLPs whose own MPE is "
               f"that high ({NEAR_ZERO}), its digits meaningless"
               if absurd and any(v >= ABSURD_MPE for row in ours for v in row) else "")
            + ("; the floors: a predictor that ignores the autoencoder, on the same test MLPs (lower than a decoder: "
               "that decoder has learned nothing the MLP's level does not give). " if floors else ". ") + provenance_note(prov))
    return Table(caption, header, rows, note)


def table1(ours_by_loss: dict[str, list[list[float]]], prov: dict | None, floors: dict | None = None,
           absurd: dict[str, list[list[int]]] | None = None) -> list[Table]:
    """Table 1: sigmoid-based AE MPE (%), one block per loss (``min``, ``p=0.5``, ``p=1``);
    ``floors``: the sigmoid test MLPs' (the same for every loss); ``absurd``: per loss, the
    result's ``absurd_table`` (:func:`mpe_block`)."""
    paper = paper_tables()["table1"]["blocks"]
    return [
        mpe_block(ours, paper.get(loss), f"Table 1 ({loss} loss): AE MPE (%) of sigmoid-based MLPs", prov, floors,
                  (absurd or {}).get(loss))
        for loss, ours in ours_by_loss.items()
    ]


def table3(ours_by_type: dict[str, list[list[float]]], prov: dict | None, floors: dict | None = None,
           absurd: dict[str, list[list[int]]] | None = None) -> list[Table]:
    """Table 3: leaky-ReLU- and linear-based AE MPE (%) with the min loss; ``floors`` and
    ``absurd`` (:func:`mpe_block`): per type."""
    paper = paper_tables()["table3"]["blocks"]
    return [
        mpe_block(ours, paper.get(act), f"Table 3 ({TYPE_NAMES[act]}, min loss): AE MPE (%)", prov,
                  (floors or {}).get(act), (absurd or {}).get(act))
        for act, ours in ours_by_type.items()
    ]


NEAR_ZERO = "eq. 7 divides by the target, so where a function's outputs come near zero a small error reads as thousands of percent"


def near_zero_note(mpes) -> str:
    """Where a table shows an MPE of :data:`swao.training.evaluation.ABSURD_MPE` % or more, the
    sentence that says why such a number appears (:data:`NEAR_ZERO`), else nothing."""
    return f" MPEs of {ABSURD_MPE:,.0f} % and more: {NEAR_ZERO}." if any(v is not None and v >= ABSURD_MPE for v in mpes) else ""


COLLAPSED = " †"  # marks a found MLP that computes a near-constant function (swao.method.metrics.is_near_constant)
COLLAPSED_NOTE = (f"†: the found MLP has collapsed, it computes a near-constant function (its output's spread on the "
                  f"test set under {NEAR_CONSTANT:.0%} of the target's), whatever its non-zero count.")


def table2(results: dict, prov: dict | None, caption: str = "Table 2: searched MLPs, test MPE % (non-zeros)",
           floors: dict | None = None) -> Table:
    """Table 2: per MLP type x decoder (rows) and dataset (columns), the search's ``MPE (nz)``
    (the best restart by validation loss) beside the paper's, where the paper has the dataset;
    ``floors`` (:func:`swao.book.experiments.dataset_floors`) adds, per type, the constant's and the
    linear fit's test MPE on each dataset, with their parameter count."""
    paper = paper_tables()["table2"]
    names = list(next(iter(results["types"].values()))["search"])
    with_paper = [ds in DATASETS for ds in names]  # a column of the paper's beside each of its datasets
    rows = []
    for act, entry in results["types"].items():
        cells = entry["search"]
        for j, d in enumerate(cells[names[0]]):
            row = [TYPE_NAMES.get(act, act) if j == 0 else "", d]
            for ds, shown in zip(names, with_paper):
                c = cells[ds][d]
                row.append(f"{fmt(c['mpe'])} ({int(round(c['nonzeros']))}){COLLAPSED if c.get('collapsed') else ''}")
                if shown:
                    has = act in paper["mpe"] and d in DECODERS
                    j_, k = (DECODERS.index(d), list(DATASETS).index(ds)) if has else (0, 0)
                    row.append(f"{fmt(paper['mpe'][act][j_][k])} ({paper['nonzeros'][act][j_][k]})" if has else "–")
            rows.append(row)
        for name, label in (("constant", "floor: constant"), ("linear", "floor: linear fit")):
            if floors and act in floors:
                row = ["", f"*{label}*"]
                for ds, shown in zip(names, with_paper):
                    row += [f"*{fmt(floors[act][ds][name]['mpe'])} ({floors[act][ds][name]['parameters']})*"] + (["–"] if shown else [])
                rows.append(row)
    note = provenance_note(prov) + (" Floors: fitted on each dataset's training split, scored on its test split (in "
                                    "parentheses: their parameters, beside the searched MLPs' non-zero weights)." if floors else "")
    collapsed = [c.get("collapsed") for e in results["types"].values() for cs in e["search"].values() for c in cs.values()]
    if any(collapsed):
        note += f" {COLLAPSED_NOTE} {sum(map(bool, collapsed))} of {len(collapsed)} cells."
    note += near_zero_note([c["mpe"] for e in results["types"].values() for cs in e["search"].values() for c in cs.values()]
                           + [f[ds][name]["mpe"] for f in (floors or {}).values() for ds in f for name in ("constant", "linear")])
    header = ["MLP type", "decoder"]
    for ds, shown in zip(names, with_paper):
        header += [f"ours {DATASETS.get(ds, ds)}"] + ([f"paper {DATASETS[ds]}"] if shown else [])
    return Table(caption, header, rows, note)


def baselines_table(results: dict, prov: dict | None) -> Table:
    """Does the embedding help? Per MLP type and dataset, each method's depth with the lowest
    validation loss: the search, direct sparse training, dense training + magnitude pruning."""
    methods = [m for m in METHODS if all(m in e for e in results["types"].values())]
    rows, wins, dominant, dominated = [], 0, 0, 0
    for act, entry in results["types"].items():
        for ds in entry["search"]:
            cells, best = [], {}
            for m in methods:
                dec, c = best_decoder(entry[m][ds])
                if m == "pruned" and c["nonzeros"] == 0:  # pruned to the search's 0: not a comparison
                    best[m] = None
                    cells.append(f"– (the search kept 0 weights at {dec})")
                    continue
                best[m] = (c["mpe"], c["nonzeros"])
                strength = f", s={c['strength']:g}" if "strength" in c else ""
                cells.append(f"{fmt(c['mpe'])} ({c['nonzeros']}, {dec}{strength}){COLLAPSED if c.get('collapsed') else ''}")
            ours, others = best["search"], [v for m, v in best.items() if v is not None and m != "search"]
            if ours is not None and others and ours[0] is not None:
                scored = [o for o in others if o[0] is not None]
                wins += all(ours[0] <= o[0] for o in scored)
                dominant += all(ours[0] <= o[0] and ours[1] <= o[1] for o in scored)
                dominated += any(o[0] <= ours[0] and o[1] <= ours[1] for o in scored)
            dead = [d for c in entry["search"][ds].values() for d in (c.get("dead_end_all") or [])]
            flat = [k for c in entry["search"][ds].values() for k in (c.get("collapsed_all") or [])]
            rows.append([TYPE_NAMES[act], DATASETS.get(ds, ds)] + cells
                        + [f"{sum(flat)} / {len(flat)}" if flat else "–", f"{sum(dead)} / {len(dead)}" if dead else "–"])
    total = len(rows)
    note = (provenance_note(prov) + f" The search has the lowest test MPE on {wins} of {total} datasets, and the lowest MPE "
            f"with no more non-zeros than any baseline on {dominant}; a baseline is at least as accurate with no more non-zeros "
            f"on {dominated} (the paper's claim is an MLP both accurate and compact). {COLLAPSED_NOTE} Collapsed: of "
            "the searched MLPs (every depth and restart), those that compute a near-constant function; dead ends: those "
            "whose exported MLP has a layer that passes nothing (a constant by construction, a subset of the collapsed)."
            + (" L0 gates: the swept strength s whose non-zero count is nearest the search's at that depth."
               if "l0" in methods else "")
            + near_zero_note([best_decoder(e[m][ds])[1]["mpe"] for e in results["types"].values() for m in methods for ds in e["search"]]))
    return Table("Search against baselines: test MPE % (non-zeros, depth) of the depth chosen by validation loss",
                 ["MLP type", "dataset"] + [METHODS[m] for m in methods] + ["search: collapsed", "search: dead ends"], rows, note)


TRADEOFF_BINS = ((0, 10), (10, 20), (20, 40), (40, 400))


def tradeoff_table(points: list[dict], prov: dict | None) -> Table:
    """Figure 4 in numbers: the searched MLPs binned by non-zero count, median test MPE per bin."""
    rows = []
    for lo, hi in TRADEOFF_BINS:
        inside = [p for p in points if lo <= p["nonzeros"] < hi and p["mpe"] is not None]
        live = [p["mpe"] for p in inside if not p.get("collapsed")]
        if inside:
            rows.append([f"{lo} to {hi - 1}", str(len(inside)), str(len(inside) - len(live)),
                         fmt(statistics.median(live)) if live else "–"])
    return Table("Compactness against error: searched MLPs by non-zero count",
                 ["non-zeros", "MLPs", "of them collapsed", "median test MPE % of the others"], rows,
                 provenance_note(prov) + f" Collapsed: the MLP computes a near-constant function (its output's spread "
                 f"on the test set under {NEAR_CONSTANT:.0%} of the target's); its non-zero count describes no working network.")


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
    shown = [c[k] for e in results["types"].values() for cs in e["search"].values() for c in cs.values() for k in ("mpe_mean", "mpe")]
    return Table(f"Spread over {R} restarts: test MPE % mean ± std (best by validation)",
                 ["MLP type", "decoder"] + [DATASETS.get(d, d) for d in next(iter(results["types"].values()))["search"]], rows,
                 provenance_note(prov) + near_zero_note(shown))
