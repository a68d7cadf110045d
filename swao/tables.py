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
METHODS = {"search": "embedding search", "direct": "direct sparse", "pruned": "dense + prune"}  # Table 2's and the baselines


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


def provenance_note(prov: dict | None) -> str:
    """One line naming the scale and hardware that produced a result."""
    if not prov:
        return "Ours: provenance unknown."
    return (
        (f"Ours: **{prov['scale']} scale** on " if prov.get("scale") else "Ours: on ")
        + f"{prov.get('hardware', prov.get('device', '?'))}, "
        f"swao {prov.get('swao', '?')} @ {prov.get('commit', '?')}, {prov.get('date', '?')}."
        + (f" Sizes: {prov['sizes']}." if prov.get("sizes") else "")
    )


def _bold_best(values: list[float | None], digits: int) -> list[str]:
    """The values as text, the lowest in bold."""
    known = [v for v in values if v is not None]
    low = min(known) if known else None
    return [fmt(v, digits) if v is None or v != low else f"**{fmt(v, digits)}**" for v in values]


def mpe_block(ours: list[list[float]], paper: list[list[float]] | None, caption: str, prov: dict | None,
              floors: dict | None = None) -> Table:
    """A Table 1/3 block, ours and the paper's side by side: rows decoders D1..D4, columns
    encoders E1..E4, the best decoder per encoder in bold in each block; ``floors``
    (:func:`swao.diagnostics.floors` on the same test MLPs) adds the mean MPE of the oracle
    constant and of the linear fit per encoder, which the paper does not report."""
    n = len(ENCODERS)
    ours_cols = [_bold_best([ours[j][e] for j in range(4)], 1) for e in range(n)]
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
            + ("; the floors: a predictor that ignores the autoencoder, on the same test MLPs (lower than a decoder: "
               "that decoder has learned nothing the MLP's level does not give). " if floors else ". ") + provenance_note(prov))
    return Table(caption, header, rows, note)


def table1(ours_by_loss: dict[str, list[list[float]]], prov: dict | None, floors: dict | None = None) -> list[Table]:
    """Table 1: sigmoid-based AE MPE (%), one block per loss (``min``, ``p=0.5``, ``p=1``);
    ``floors``: the sigmoid test MLPs' (the same for every loss)."""
    paper = paper_tables()["table1"]["blocks"]
    return [
        mpe_block(ours, paper.get(loss), f"Table 1 ({loss} loss): AE MPE (%) of sigmoid-based MLPs", prov, floors)
        for loss, ours in ours_by_loss.items()
    ]


def table3(ours_by_type: dict[str, list[list[float]]], prov: dict | None, floors: dict | None = None) -> list[Table]:
    """Table 3: leaky-ReLU- and linear-based AE MPE (%) with the min loss; ``floors``: per type."""
    paper = paper_tables()["table3"]["blocks"]
    return [
        mpe_block(ours, paper.get(act), f"Table 3 ({TYPE_NAMES[act]}, min loss): AE MPE (%)", prov,
                  (floors or {}).get(act))
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


def table2(results: dict, prov: dict | None, caption: str = "Table 2: searched MLPs, test MPE % (non-zeros)",
           floors: dict | None = None) -> Table:
    """Table 2: per MLP type x decoder (rows) and dataset (columns), the search's ``MPE (nz)``
    (the best restart by validation loss) beside the paper's, where the paper has the dataset;
    ``floors`` (:func:`swao.experiments.dataset_floors`) adds, per type, the constant's and the
    linear fit's test MPE on each dataset, with their parameter count."""
    paper = paper_tables()["table2"]
    names = list(next(iter(results["types"].values()))["search"])
    rows = []
    for act, entry in results["types"].items():
        cells = entry["search"]
        for j, d in enumerate(cells[names[0]]):
            row = [TYPE_NAMES.get(act, act) if j == 0 else "", d]
            for ds in names:
                c = cells[ds][d]
                text = f"{fmt(c['mpe'])} ({int(round(c['nonzeros']))})"
                if ds in DATASETS and act in paper["mpe"] and d in DECODERS:
                    j_, k = DECODERS.index(d), list(DATASETS).index(ds)
                    text += f" [paper {fmt(paper['mpe'][act][j_][k])} ({paper['nonzeros'][act][j_][k]})]"
                row.append(text)
            rows.append(row)
        for name, label in (("constant", "floor: constant"), ("linear", "floor: linear fit")):
            if floors and act in floors:
                rows.append(["", f"*{label}*"] + [f"*{fmt(floors[act][ds][name]['mpe'])} ({floors[act][ds][name]['parameters']})*"
                                                  for ds in names])
    note = provenance_note(prov) + (" Floors: fitted on each dataset's training split, scored on its test split (in "
                                    "parentheses: their parameters, beside the searched MLPs' non-zero weights)." if floors else "")
    return Table(caption, ["MLP type", "decoder"] + [DATASETS.get(ds, ds) for ds in names], rows, note)


def best_decoder(cells: dict) -> tuple[str, dict]:
    """The decoder whose best restart has the lowest *validation* loss (chosen without the test
    set; a diverged one, ``None``, counts as worst)."""
    key = lambda kv: float("inf") if kv[1].get("val_loss") is None else kv[1]["val_loss"]  # noqa: E731
    return min(cells.items(), key=key)


def floors_table(results: dict, prov: dict | None) -> Table:
    """Does the autoencoder beat a predictor that ignores it? Per autoencoder and encoder, the
    median over the test MLPs of each MLP's best decoder's MPE beside, on the same MLPs, the
    oracle constant's and the linear fit's (:mod:`swao.diagnostics`); then the share of
    near-constant best decodings, the median correlation with the target, the dead decoders."""
    rows, beats = [], 0
    for name, r in results.items():
        f, c = r["floors"], r["collapse"]
        for e, enc in enumerate(ENCODERS):
            ours, const, lin = r["best_median"][e], f["constant"]["median"][e], f["linear"]["median"][e]
            verdict = "beats both" if ours < lin and ours < const else ("beats the constant" if ours < const else "no")
            beats += ours < const
            rows.append([name if e == 0 else "", enc, fmt(ours, 1), fmt(const, 1), fmt(lin, 1), verdict,
                         f"{100 * c['near_constant_share'][e]:.0f} %", f"{c['median_correlation'][e]:+.2f}",
                         (", ".join(c["dead_decoders"]) or "none") if e == 0 else ""])
    caption = (f"Floors: the best decoder's median MPE (%) against a constant and a linear fit on the same test MLPs "
               f"(ours beats the constant in {beats} of {len(rows)} cases)")
    header = ["autoencoder", "encoder", "best decoder", "constant (oracle)", "linear fit", "beats?", "near-constant",
              "median corr.", "dead decoders"]
    note = ("The constant is each MLP's own median output over the grid (an oracle), the linear fit a least-squares "
            "plane on the grid. Near-constant: the best decoding's standard deviation over the grid is under 5 % of "
            "the target's. A dead decoder decodes most MLPs with a layer that passes nothing. " + provenance_note(prov))
    return Table(caption, header, rows, note)


def _slash(values, digits: int = 1) -> str:
    return " / ".join(fmt(v, digits) for v in values)


def recipe_table(study: dict) -> Table:
    """The autoencoder recipe study (``benchmarks/recipe_study.py``): per recipe, its steps in the
    budget, the held-out best-decoder median and mean per encoder, the collapse views; then the floors."""
    f = study["floors"]
    rows = []
    for r in study["recipes"]:
        active = _slash([sum(d["active_per_layer"]) / len(d["active_per_layer"]) for d in r["decoders"]])
        rows.append([r["name"], f"{r['steps']:,} x {r['mlp_passes'] // r['steps']}", f"{r['train_seconds']:.0f}",
                     fmt(r["final_loss"]), _slash(r["best_median"]), _slash(r["best_mean"]),
                     _slash([100 * v for v in r["near_constant_share"]], 0), _slash(r["median_correlation"], 2),
                     ", ".join(r["dead_decoders"]) or "none", active])
    for name in ("constant", "linear"):
        rows.append([f"floor: {'oracle constant' if name == 'constant' else 'linear fit'}", "", "", "",
                     _slash(f[name]["median"]), _slash(f[name]["mean"]), "", "", "", ""])
    header = ["recipe", "steps x batch", "train s", "final loss", "best decoder: median MPE (E1-E4)", "mean",
              "near-constant % (E1-E4)", "median corr. (E1-E4)", "dead decoders", "active neurons, mean per layer (D1-D4)"]
    prov = study.get("provenance")
    note = (f"The sigmoid-based min-loss autoencoder, `small` sizes otherwise, {study['budget_s']:.0f} s of training steps per "
            f"recipe (steps set from each recipe's measured MLPs/s); {study['eval_mlps']} held-out MLPs per encoder "
            f"(the book's Table 1 MLPs). Command: `{study['command']}`. " + provenance_note(prov))
    return Table("The recipe study: what learns in the CPU budget", header, rows, note)


def search_study_table(study: dict) -> Table:
    """The search study (``benchmarks/search_study.py``): per MLP type and variant, dead starts and
    ends, the threshold and non-zeros along the search, the chosen depth's test MPE per dataset."""
    rows = []
    for act, entry in study["types"].items():
        direct = "; ".join("–" if c["mpe"] is None else f"{fmt(c['mpe'], 1)} ({c['nonzeros']})" for c in entry["direct"]["cells"].values())
        first = True
        for name, v in entry.items():
            if name == "direct":
                continue
            best = "; ".join("–" if c["mpe"] is None else f"{fmt(c['mpe'], 1)} ({c['nonzeros']}, {c['decoder']})" for c in v["cells"].values())
            rows.append([TYPE_NAMES.get(act, act) if first else "", name, f"{v['dead_start']} / {v['triples']}",
                         f"{v['dead_end']} / {v['triples']}", _slash(v["t"], 2), _slash(v["nonzeros"], 0), best,
                         direct if first else ""])
            first = False
    header = ["MLP type", "variant", "dead starts", "dead ends", "t at 0/25/50/75/100 %", "non-zeros along",
              "test MPE % (non-zeros, depth) 2 / 3 / 4 HL", "direct sparse, same objective"]
    note = (f"Variants: start uniform (the paper) or encoded (embeddings of real MLPs that decode alive); masks hard (the "
            f"paper) or straight-through (st); penalty over all decoded weights (the paper) or the non-zero ones (active); "
            f"keep: the threshold held below every layer's largest weight, so that it never cuts a whole layer. "
            f"Command: `{study['command']}`. " + provenance_note(study.get("provenance")))
    return Table("The search study: what makes the search collapse, and what stops it", header, rows, note)


def scaling_table(study: dict) -> Table:
    """The scaling study (``benchmarks/training_scaling.py``, :mod:`swao.scaling`): per encoder, the
    table's best cell at each training budget, the fitted power law's factor per 10x of compute,
    its prediction at the paper's passes beside the paper's Table 1; then each MLP's best
    decoder's median beside the constant floor."""
    from . import scaling

    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    cell, med = scaling.trend(study, "best_cell"), scaling.trend(study, "best_median")
    verdict = scaling.verdict(study)["per_encoder"]
    rows = []
    for e, enc in enumerate(ENCODERS):
        rows.append([enc, *[fmt(scaling.view(r, "best_cell")[e], 1) for r in runs], f"x{cell[e]['per_decade']:.2f}",
                     fmt(cell[e]["predicted"], 1), fmt(cell[e]["paper"], 2), verdict[e],
                     " / ".join(fmt(scaling.view(r, "best_median")[e], 1) for r in runs), f"x{med[e]['per_decade']:.2f}",
                     fmt(study["floors"]["constant"]["median"][e], 1)])
    budgets = [f"x{r['factor']:g} ({r['mlp_passes'] / 1e6:.2g} M)" for r in runs]
    header = ["encoder", *[f"best cell {b}" for b in budgets], "per 10x compute", "fit at 12.8 M", "paper (12.8 M)",
              "the fit", "best decoder, median, at each budget", "per 10x", "constant floor (median)"]
    prov = runs[-1].get("provenance")
    made = [r.get("provenance") or {} for r in runs] + [p.get("provenance") or {} for p in study.get("curve", {}).get("points", [])]
    commands = "; ".join(f"`python benchmarks/{c}`" for c in dict.fromkeys(m["command"] for m in made if m.get("command")))
    note = (f"The sigmoid-based min-loss autoencoder with the small recipe, trained with x times small's MLPs per epoch "
            f"(MLP passes = steps x batch 64); {study['eval_mlps']} test MLPs per encoder. Best cell: the lowest decoder "
            f"mean MPE % in Table 1's layout, like the paper's numbers; per 10x compute: the fitted power law's factor. "
            f"'reaches': the fit at 12.8 M is within {scaling.REACHES:g}x of the paper; 'far': over {scaling.FAR:g}x, or "
            f"no fall with compute. Commands: {commands}. " + provenance_note(prov))
    return Table("Scaling: Table 1's best cell against training compute, and its trend to the paper's 12.8 M passes",
                 header, rows, note)


def scaling_verdict(study: dict) -> str:
    """One paragraph of what the scaling study supports, written from its numbers."""
    from . import scaling

    v, cell = scaling.verdict(study), scaling.trend(study, "best_cell")
    med = scaling.trend(study, "best_median")
    last = max(study["runs"], key=lambda r: r["mlp_passes"])
    floor = study["floors"]["constant"]["median"]
    beats = sum(m < f for m, f in zip(last["best_median"], floor))
    counts = {k: v["per_encoder"].count(k) for k in ("reaches", "between", "far")}
    hardware = (last.get("provenance") or {}).get("hardware", "?")
    return (f"**Verdict: {v['whole']}.** The sigmoid-based min-loss autoencoder with the small recipe, trained on "
            f"{hardware}: fitted over {len(study['runs'])} budgets up to {last['mlp_passes'] / 1e6:.2g} M "
            f"MLP passes and extrapolated {v['extrapolation']:.1f}x further ({v['decades']:.1f} decades) to the paper's "
            f"12.8 M, the best cell's power law predicts {_slash([t['predicted'] for t in cell])} % (E1-E4) against the "
            f"paper's {_slash([t['paper'] for t in cell])} %: {counts['reaches']} encoder(s) reach the paper, "
            f"{counts['between']} fall between, {counts['far']} stay far. Each 10x of compute multiplies the best cell by "
            f"{_slash([t['per_decade'] for t in cell], 2)} and each MLP's best-decoder median by "
            f"{_slash([t['per_decade'] for t in med], 2)} (its fit predicts {_slash([t['predicted'] for t in med])} % at "
            f"12.8 M). At the largest budget the median beats the oracle constant on "
            f"{beats} of 4 encoders ({_slash(last['best_median'])} % against {_slash(floor)} %). "
            "A power law fitted to few points, extrapolated, is a hint, not a measurement: a paper-scale run "
            "(`results/paper/`, made on a GPU) is the test.")


FINDING_MARKS = {"held": "✅ held", "not held": "❌ not held", "not testable at this scale": "➖ not testable at this scale"}


def findings_table(checks: dict[str, list[dict]]) -> Table:
    """The findings page (:mod:`swao.findings`): per claim of the paper, the paper's number, then
    ours and the mark at each scale present (``checks``: scale -> :func:`swao.findings.check`),
    and the page with the evidence."""
    scales = list(checks)
    first = checks[scales[0]]
    rows = []
    for k, c in enumerate(first):
        row = [f"**{c['claim']}** ({c['source']})", c["paper"]]
        for sc in scales:
            ours = checks[sc][k]
            row += [ours["ours"], FINDING_MARKS[ours["mark"]]]
        rows.append(row + [f"[{c['page'].split('_', 1)[1].replace('_', ' ')}]({c['page']}.ipynb)"])
    header = ["the paper's claim", "the paper's number"]
    for sc in scales:
        header += [f"ours, {sc} scale", f"at {sc} scale"]
    counts = "; ".join(f"{sc} scale: " + ", ".join(f"{sum(c['mark'] == m for c in checks[sc])} {m}" for m in FINDING_MARKS)
                       for sc in scales)
    note = ("The rule of each claim: " + " ".join(f"({k + 1}) {c['rule']}." for k, c in enumerate(first)) + f" Counts: {counts}.")
    return Table("What held: the paper's claims against our results", header + ["evidence"], rows, note)


def findings_summary(checks: dict[str, list[dict]]) -> str:
    """The findings in a few lines (the top of the book's intro): per scale, the count of each
    mark, then each claim with its mark at every scale."""
    lines = []
    for sc, cs in checks.items():
        counts = ", ".join(f"{sum(c['mark'] == m for c in cs)} {m}" for m in FINDING_MARKS)
        lines.append(f"**At {sc} scale, of the paper's {len(cs)} claims: {counts}.**")
    lines.append("")
    for k, c in enumerate(next(iter(checks.values()))):
        marks = "; ".join(f"{FINDING_MARKS[checks[sc][k]['mark']]} at {sc} scale" for sc in checks)
        lines.append(f"- {c['claim']} ({c['source']}): {marks}")
    return "\n".join(lines)


def compute_table(used: dict[str, dict]) -> Table:
    """The compute behind each scale's findings (:func:`swao.findings.compute_used`)."""
    rows = []
    for sc, u in used.items():
        train = sum(u["train_seconds"].values())
        rows.append([sc, u["hardware"], f"{len(u['train_seconds'])} autoencoders, {train / 60:.1f} min",
                     f"{u['search_seconds'] / 60:.1f} min", u["sizes"] or ""])
    return Table("The compute used", ["scale", "hardware", "training", "search and baselines", "sizes"], rows)


def baselines_table(results: dict, prov: dict | None) -> Table:
    """Does the embedding help? Per MLP type and dataset, each method's depth with the lowest
    validation loss: the search, direct sparse training, dense training + magnitude pruning."""
    methods = [m for m in METHODS if all(m in e for e in results["types"].values())]
    rows, wins = [], 0
    for act, entry in results["types"].items():
        for ds in entry["search"]:
            cells, best = [], {}
            for m in methods:
                dec, c = best_decoder(entry[m][ds])
                if m == "pruned" and c["nonzeros"] == 0:  # pruned to the search's 0: not a comparison
                    best[m] = None
                    cells.append(f"– (the search kept 0 weights at {dec})")
                    continue
                best[m] = c["mpe"]
                cells.append(f"{fmt(c['mpe'])} ({c['nonzeros']}, {dec})")
            ok = [v for m, v in best.items() if v is not None and m != "search"]
            if best["search"] is not None and ok and best["search"] <= min(ok):
                wins += 1
            dead = [d for c in entry["search"][ds].values() for d in (c.get("dead_end_all") or [])]
            rows.append([TYPE_NAMES[act], DATASETS.get(ds, ds)] + cells + ([f"{sum(dead)} / {len(dead)}"] if dead else ["–"]))
    total = len(rows)
    note = (provenance_note(prov) + f" The search is best on {wins} of {total} datasets. Dead ends: the searched MLPs "
            "(every depth and restart) whose exported MLP has a layer that passes nothing (a constant function).")
    return Table("Search against baselines: test MPE % (non-zeros, depth) of the depth chosen by validation loss",
                 ["MLP type", "dataset"] + [METHODS[m] for m in methods] + ["search: dead ends"], rows, note)


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
