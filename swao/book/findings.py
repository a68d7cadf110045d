"""The paper's claims, one by one, against our results: the book's findings page.

Each claim is checked by a rule written here, before any number is looked at, on the results of
one scale (``evidence``: the ``tables``, ``search`` and ``embedding`` results and the floors of
the search datasets). A claim *holds* only where the method beats the trivial floors of
:mod:`swao.training.diagnostics` (a constant, a linear fit): a comparison between autoencoders that all
sit at the constant floor is *not testable at this scale*. "Beats" means at least 2 % below
(:data:`MARGIN`). Nothing here is typed by hand: the
numbers come from the results, the paper's from ``swao/data/paper_tables.json``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from swao.book.numbers import slash
from swao.book.paper import paper_tables, paper_tradeoff_points
from swao.book.searches import dataset_floors
from swao.method.generation import TARGET_NONZEROS as NONZEROS_BY_DEPTH
from swao.ours.embedding import rank_correlation
from swao.ours.table2 import DATASET_DEPTHS, METHODS, best_decoder, tradeoff_points
from swao.training.config import Config, get_config
from swao.training.evaluation import best_cells

HELD, NOT_HELD, NOT_TESTABLE = "held", "not held", "not testable at this scale"
NOT_RUN = "not run at this scale"  # the scale's results hold nothing the claim's rule reads (e.g. the paper-budget run: no embedding study)
MARKS = (HELD, NOT_HELD, NOT_TESTABLE, NOT_RUN)
TARGET_NONZEROS = {ds: NONZEROS_BY_DEPTH[L] for ds, L in DATASET_DEPTHS.items()}  # Table 2's input MLPs: 14, 35, 48
MOST_ENCODERS = 3  # of 4: "works" means on at least this many encoders
MOST_DATASETS = 5  # of 9: a majority; of fewer datasets, the same share rounded up (most_datasets)
TRADEOFF_RHO = -0.3  # Figure 4's trade-off: Spearman's rho of (non-zeros, MPE) at most this
EMBEDDING_RHO = 0.3  # the central claim: trained rank correlation at least this, and
EMBEDDING_GAIN = 0.1  # this much above the untrained network's
MARGIN = 0.98  # "beats a floor": at least 2 % below it (a tie at a floor, e.g. 49.9 against 50.0 %, is not a win)


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: what it says, where, the paper's own number, the rule, the page
    with our evidence, the check (``evidence -> (our number, mark)``) and the results the check
    reads (``needs``: ``"tables:NAME"`` for an autoencoder's Table 1/3 block, or an evidence key)."""

    text: str
    source: str
    paper: Callable[[], str]
    rule: str
    page: str
    check: Callable[[dict], tuple[str, str]]
    needs: tuple[str, ...]

    def runnable(self, evidence: dict) -> bool:
        """Does ``evidence`` hold every result the check reads?"""
        return all(n.split(":", 1)[1] in evidence.get("tables", {}) if n.startswith("tables:") else evidence.get(n) is not None
                   for n in self.needs)


def beats_constant(result: dict) -> list[bool]:
    """Per encoder: does each MLP's best decoder's median beat the oracle constant's?"""
    return [m < MARGIN * c for m, c in zip(result["best_median"], result["floors"]["constant"]["median"])]


spearman = rank_correlation  # Spearman's rho, ties at their average rank (non-zero counts tie often)


def chosen(search: dict) -> list[tuple[str, str, str, dict]]:
    """Per MLP type and Table 2 dataset, the search's depth chosen by validation loss:
    ``(activation, dataset, decoder, cell)``."""
    out = []
    for act, entry in search["types"].items():
        for ds, cells in entry["search"].items():
            dec, cell = best_decoder(cells)
            out.append((act, ds, dec, cell))
    return out


def most_datasets(n: int) -> int:
    """How many of ``n`` searched datasets a Table 2 claim needs: :data:`MOST_DATASETS` of 9, the
    same share of fewer rounded up (2 of 3, where one MLP type is searched: the paper-budget run)."""
    return math.ceil(MOST_DATASETS * n / 9)


def _beats_floors(cell: dict, floors: dict) -> bool:
    return cell["mpe"] is not None and all(cell["mpe"] < MARGIN * f["mpe"] for f in floors.values())


# ---------------------------------------------------------------- the claims' checks
def _decodes_like_input(ev: dict) -> tuple[str, str]:
    r = ev["tables"]["sigmoid-min"]
    wins = beats_constant(r)
    value = (f"best cell {slash(best_cells(r['table']))} %; each MLP's best decoder: median {slash(r['best_median'])} % "
             f"against the constant's {slash(r['floors']['constant']['median'])} % (beats it on {sum(wins)} of 4 encoders)")
    return value, HELD if sum(wins) >= MOST_ENCODERS else NOT_HELD


def _min_loss_best(ev: dict) -> tuple[str, str]:
    names = [n for n in ("sigmoid-min", "sigmoid-p0.5", "sigmoid-p1") if n in ev["tables"]]
    score = {n: sum(ev["tables"][n]["best_median"]) / 4 for n in names}
    value = "mean over encoders of each MLP's best decoder's median: " + ", ".join(f"{n.split('-')[1]} {score[n]:.1f} %" for n in names)
    if not any(any(beats_constant(ev["tables"][n])) for n in names):
        return value + " (none beats the constant floor on any encoder)", NOT_TESTABLE
    return value, HELD if min(score, key=score.get) == "sigmoid-min" else NOT_HELD


def _d3_best(ev: dict) -> tuple[str, str]:
    r = ev["tables"]["sigmoid-min"]
    best = [min(range(4), key=lambda j: r["table"][j][e]) for e in range(4)]
    value = "best decoder (lowest mean) per encoder: " + " / ".join(f"D{j + 1}" for j in best)
    if not any(beats_constant(r)):
        return value + " (the autoencoder does not beat the constant floor on any encoder)", NOT_TESTABLE
    return value, HELD if sum(j == 2 for j in best) >= MOST_ENCODERS else NOT_HELD


def _other_types(ev: dict) -> tuple[str, str]:
    parts, ok = [], True
    for n in ("leaky_relu-min", "linear-min"):
        r = ev["tables"][n]
        wins = beats_constant(r)
        ok &= sum(wins) >= MOST_ENCODERS
        parts.append(f"{n.split('-')[0]}: median {slash(r['best_median'])} % against the constant's "
                     f"{slash(r['floors']['constant']['median'])} % ({sum(wins)} of 4)")
    return "; ".join(parts), HELD if ok else NOT_HELD


def _search_low_mpe(ev: dict) -> tuple[str, str]:
    rows = chosen(ev["search"])
    floors = ev["dataset_floors"]
    wins = sum(_beats_floors(c, floors[a][ds]) for a, ds, _, c in rows)
    direct = sum(c["mpe"] is not None and c["mpe"] <= best_decoder(ev["search"]["types"][a]["direct"][ds])[1]["mpe"]
                 for a, ds, _, c in rows if "direct" in ev["search"]["types"][a])
    mpes = sorted(c["mpe"] for *_, c in rows if c["mpe"] is not None)
    med = mpes[len(mpes) // 2] if mpes else float("nan")
    ran_direct = all("direct" in entry for entry in ev["search"]["types"].values())
    value = (f"the depth chosen by validation beats both floors on {wins} of {len(rows)} datasets"
             + (f" and direct sparse training on {direct}" if ran_direct else "") + f"; median test MPE {med:.1f} %")
    return value, HELD if wins >= most_datasets(len(rows)) else NOT_HELD


def _fewer_nonzeros(ev: dict) -> tuple[str, str]:
    rows = chosen(ev["search"])
    floors = ev["dataset_floors"]
    smaller = [c["nonzeros"] < TARGET_NONZEROS[ds] for a, ds, _, c in rows]
    flat = [bool(c.get("collapsed")) for *_, c in rows]  # a near-constant MLP's count describes no working network
    useful = [s and not f and _beats_floors(c, floors[a][ds]) for s, f, (a, ds, _, c) in zip(smaller, flat, rows)]
    value = (f"fewer non-zeros than the input MLP on {sum(smaller)} of {len(rows)} datasets "
             f"({sum(s and f for s, f in zip(smaller, flat))} of them collapsed to a near-constant), "
             f"{sum(useful)} while computing a non-constant function that beats both floors")
    return value, HELD if sum(useful) >= most_datasets(len(rows)) else NOT_HELD


def _tradeoff(ev: dict) -> tuple[str, str]:
    every = [p for p in tradeoff_points(ev["search"]) if p["mpe"] is not None]
    pts = [p for p in every if not p.get("collapsed")]  # collapsed MLPs left out: their counts describe no working network
    if len(pts) < 3:
        return (f"{len(every) - len(pts)} of {len(every)} searched MLPs collapsed to a near-constant: too few others "
                "for a rank correlation", NOT_TESTABLE)
    rho = spearman([p["nonzeros"] for p in pts], [p["mpe"] for p in pts])
    left = f", {len(every) - len(pts)} collapsed to a near-constant left out" if len(pts) < len(every) else ""
    return (f"Spearman's rho (non-zeros, test MPE) over {len(pts)} searched MLPs{left}: {rho:+.2f}",
            HELD if rho <= TRADEOFF_RHO else NOT_HELD)


def _embedding(ev: dict) -> tuple[str, str]:
    types = ev["embedding"]["types"]
    ok = all(q["trained"]["spearman"] >= EMBEDDING_RHO and q["trained"]["spearman"] >= q["untrained"]["spearman"] + EMBEDDING_GAIN
             for q in types.values())
    value = "; ".join(f"{a}: {q['trained']['spearman']:+.2f} (untrained {q['untrained']['spearman']:+.2f})" for a, q in types.items())
    return "rank correlation of embedding and functional distance: " + value, HELD if ok else NOT_HELD


# ---------------------------------------------------------------- the paper's numbers
def _paper_best_cells() -> str:
    return f"best cell {slash(best_cells(paper_tables()['table1']['blocks']['min']), 2)} % (E1-E4)"


def _paper_losses() -> str:
    blocks = paper_tables()["table1"]["blocks"]
    return "mean of the best cells: " + ", ".join(f"{k} {sum(best_cells(v)) / 4:.1f} %" for k, v in blocks.items())


def _paper_d3() -> str:
    t = paper_tables()["table1"]["blocks"]["min"]
    return "best decoder per encoder: " + " / ".join(f"D{min(range(4), key=lambda j: t[j][e]) + 1}" for e in range(4))


def _paper_other_types() -> str:
    blocks = paper_tables()["table3"]["blocks"]
    return "; ".join(f"{k}: best cell {slash(best_cells(v), 2)} %" for k, v in blocks.items())


def _paper_table2() -> tuple[list[float], list[int]]:
    t = paper_tables()["table2"]
    mpes, nzs = [], []
    for act in t["mpe"]:
        for k in range(3):
            j = min(range(4), key=lambda j: t["mpe"][act][j][k])
            mpes.append(t["mpe"][act][j][k])
            nzs.append(t["nonzeros"][act][j][k] < list(TARGET_NONZEROS.values())[k])
    return mpes, nzs


def _paper_search() -> str:
    mpes = sorted(_paper_table2()[0])
    return f"median over the 9 datasets of the best decoder's test MPE: {mpes[len(mpes) // 2]:.2f} %"


def _paper_nonzeros() -> str:
    return f"the best decoder has fewer non-zeros than the input MLP on {sum(_paper_table2()[1])} of 9 datasets"


def _paper_tradeoff() -> str:
    pts = paper_tradeoff_points()
    return f"Spearman's rho over Table 2's {len(pts)} cells: {spearman([p['nonzeros'] for p in pts], [p['mpe'] for p in pts]):+.2f}"


CLAIMS = (
    Claim("The min-loss autoencoder decodes MLPs that compute like their inputs", "Table 1", _paper_best_cells,
          f"each MLP's best decoder beats the oracle constant (median) on >= {MOST_ENCODERS} of 4 encoders",
          "04_mpe_evaluation", _decodes_like_input, ("tables:sigmoid-min",)),
    Claim("The min loss trains the best autoencoder (better than the p-norm losses)", "Section 4.1, Table 1", _paper_losses,
          "min has the lowest mean best-decoder median; testable where one of the three beats the constant floor",
          "04_mpe_evaluation", _min_loss_best, ("tables:sigmoid-min", "tables:sigmoid-p0.5", "tables:sigmoid-p1")),
    Claim("For sigmoid MLPs, the 3-hidden-layer decoder D3 is typically best", "Section 4.1, Table 1", _paper_d3,
          f"D3 has the lowest mean on >= {MOST_ENCODERS} of 4 encoders; testable where the autoencoder beats the constant floor",
          "04_mpe_evaluation", _d3_best, ("tables:sigmoid-min",)),
    Claim("Min-loss autoencoders work for leaky-ReLU and linear MLPs too", "Appendix, Table 3", _paper_other_types,
          f"each type's best decoder beats the oracle constant on >= {MOST_ENCODERS} of 4 encoders", "04_mpe_evaluation",
          _other_types, ("tables:leaky_relu-min", "tables:linear-min")),
    Claim("The search finds MLPs with low test MPE", "Section 4.2, Table 2", _paper_search,
          f"the depth chosen by validation beats the constant and the linear fit on >= {MOST_DATASETS} of 9 datasets "
          f"({most_datasets(3)} of 3 where one MLP type is searched)",
          "05_sparse_search", _search_low_mpe, ("search", "dataset_floors")),
    Claim("The searched MLPs have fewer non-zeros than the input MLP", "Section 4.2, Table 2", _paper_nonzeros,
          f"fewer non-zeros than 14 / 35 / 48 while beating both floors, on >= {MOST_DATASETS} of 9 datasets "
          f"({most_datasets(3)} of 3 where one MLP type is searched)",
          "05_sparse_search", _fewer_nonzeros, ("search", "dataset_floors")),
    Claim("More non-zeros, lower MPE: a trade-off", "Figure 4", _paper_tradeoff,
          f"Spearman's rho of (non-zeros, test MPE) over the searched MLPs <= {TRADEOFF_RHO}", "05_sparse_search", _tradeoff, ("search",)),
    Claim("The embedding puts MLPs that compute alike close together", "abstract, Section 3.1", lambda: "no number given",
          f"rank correlation of embedding and functional distances >= {EMBEDDING_RHO} and >= the untrained network's "
          f"+ {EMBEDDING_GAIN}, for every type", "06_beyond_the_paper", _embedding, ("embedding",)),
)


def check(evidence: dict) -> list[dict]:
    """Every claim of :data:`CLAIMS` on one scale's results: ``[{"claim", "source", "paper",
    "rule", "page", "ours", "mark"}]``; a claim whose results the scale lacks is :data:`NOT_RUN`."""
    out = []
    for c in CLAIMS:
        ours, mark = c.check(evidence) if c.runnable(evidence) else ("–", NOT_RUN)
        assert mark in MARKS, mark
        out.append({"claim": c.text, "source": c.source, "paper": c.paper(), "rule": c.rule, "page": c.page,
                    "ours": ours, "mark": mark})
    return out


def compute_used(config, autoencoders: dict, search_result: dict) -> dict:
    """Seconds of training per autoencoder and of the search (with its baselines), and the
    hardware, from the results' own records; each autoencoder's MLP passes and network width
    beside the paper's, from ``config`` (the scale the results were made at)."""
    paper = get_config("paper")
    return {"train_seconds": {n: r["train_seconds"] for n, r in autoencoders.items()},
            "search_seconds": search_result["seconds"], "hardware": search_result["provenance"]["hardware"],
            "sizes": search_result["provenance"].get("sizes"), "train_passes": config.mlp_passes,
            "paper_passes": paper.mlp_passes, "width": config.width}


def evidence(config, tables_result: dict, search_result: dict, embedding_result: dict) -> dict:
    """The results :func:`check` reads, with the floors of the search datasets at ``config``."""
    return {"tables": tables_result, "search": search_result, "embedding": embedding_result,
            "dataset_floors": dataset_floors(config, tuple(search_result["types"]))}


def budget_evidence(table1: dict, table2: dict | None = None) -> dict:
    """The evidence of the paper-budget CPU run (``studies/paper_budget.py``): its one
    autoencoder's Table 1 block (sigmoid-based MLPs, min loss) at its last stop and, once run on
    the final weights, its Table 2 sigmoid row with the baselines (``table2``, with the floors of
    its datasets); no embedding study, so the claims that read one (and, before ``table2``, the
    search's) are :data:`NOT_RUN`."""
    floors = dataset_floors(Config(**table2["config"]), tuple(table2["types"])) if table2 else None
    return {"tables": {"sigmoid-min": table1}, "search": table2, "embedding": None, "dataset_floors": floors}


def budget_cpus(curve: dict) -> list[str]:
    """The CPUs the paper-budget run's segments trained on (its ``curve.json``), each once, sorted."""
    return sorted({s["cpu"] for s in curve["segments"]})


def budget_recipe(curve: dict) -> str:
    """The recipe a paper-budget run trains by, in words, from its ``curve.json``: the authors'
    training script (``studies/paper_budget.py run --recipe authors``) or ours at the paper's
    budget, with its batch, learning rate and number of updates, and its warm starts."""
    c, warm = curve["config"], len(curve.get("warm_starts", []))
    if curve.get("recipe") == "authors":
        return (f"the authors' recipe, batch {c['batch_size']:,} at lr {c['lr']:g} ({curve['total_steps']:,} updates; 3 FC layers, "
                "BatchNorm shortcuts one MLP at a time, eval mode from 4.8 M passes, their batches)")
    times = {1: "once", 2: "twice"}.get(warm, f"{warm} times")
    return (f"our recipe, batch {c['batch_size']:,} at lr {c['lr']:g} ({curve['total_steps']:,} updates; the paper's 4 FC layers, no norm"
            + (f"; warm-started {times} from bf16 weights with fresh Adam moments" if warm else "") + ")")


ALL_METHODS = "search and baselines"  # what a compute record's search seconds cover unless it says otherwise ("search_with")


def budget_used(table1: dict, curve: dict, table2: dict | None = None) -> dict:
    """:func:`compute_used` for the paper-budget run: its hours of training so far on the CPUs of
    its segments (``curve``: its exported ``curve.json``), the MLP passes of the scored weights,
    and the seconds of its Table 2 search and of the baselines run so far (``table2``), where run."""
    return {"train_seconds": {table1["autoencoder"]: 3600 * table1["train_hours"]},
            "search_seconds": table2["seconds"] if table2 else 0.0,
            "search_with": ALL_METHODS if not table2 or table2["baselines"] else
                           " and ".join(["search", *(METHODS[m] for m in table2.get("baselines_done", []))]),
            "hardware": "; ".join(budget_cpus(curve)), "sizes": table1["provenance"].get("sizes"), "train_passes": table1["mlp_passes"],
            "recipe": budget_recipe(curve),
            "paper_passes": table1["paper_mlp_passes"], "width": curve["config"]["width"]}


# ---------------------------------------------------------------- the paper-budget run's expectation
# Written on 2026-12-03 when the run started, before any of its numbers existed (page "Does it
# learn?", "What we expected"); each of its parts is a rule here, checked on the final weights.
TWICE = 2.0  # "Table 1 best cells over twice the paper's"


def budget_expectations(table1: dict) -> list[dict]:
    """The paper-budget run's expectation, part by part, on its Table 1 block (``table1``, the
    ``table1`` command's result): ``[{"expected", "ours", "held"}]``. The parts: each MLP's best
    decoder beats the constant floor (:func:`beats_constant`) on E1 and E2, and not on E3 and E4;
    most of E3's and E4's best decodings, taken together, are near-constant; Table 1's best cells (means) stay
    over twice the paper's on at least three of the four encoders."""
    beats = beats_constant(table1)
    const = table1["floors"]["constant"]["median"]
    med = table1["best_median"]
    near = table1["collapse"]["near_constant_share"]
    ours, paper = best_cells(table1["table"]), best_cells(paper_tables()["table1"]["blocks"]["min"])
    over = [o > TWICE * p for o, p in zip(ours, paper)]
    vs = lambda es: "; ".join(f"E{e + 1} {med[e]:.1f} against {const[e]:.1f} %" for e in es)  # noqa: E731
    return [
        {"expected": "beats the constant floor on E1 and E2", "ours": f"best-decoder median {vs((0, 1))}",
         "held": beats[0] and beats[1]},
        {"expected": "does not beat it on E3 and E4", "ours": f"best-decoder median {vs((2, 3))}",
         "held": not beats[2] and not beats[3]},
        # "most E3/E4 decodings": the two encoders' decodings together (as many MLPs each, so the mean share)
        {"expected": "most E3/E4 decodings near-constant (the two encoders' together)",
         "ours": f"near-constant best decodings: {50 * (near[2] + near[3]):.0f} % of E3's and E4's together; "
                 f"E3 {100 * near[2]:.0f} %, E4 {100 * near[3]:.0f} %",
         "held": (near[2] + near[3]) / 2 > 0.5},
        {"expected": "Table 1 best cells over twice the paper's on at least 3 of 4 encoders",
         "ours": f"{slash(ours)} % against the paper's {slash(paper, 2)} %: {sum(over)} of 4 over twice", "held": sum(over) >= 3},
    ]


# ---------------------------------------------------------------- the authors' recipe against ours, at the paper budget
# Written on 2026-12-07, before the authors'-recipe run started (results/paper-budget-authors/RULE.md):
# the two runs' Table 1 blocks (the same 1,000 test MLPs per encoder), compared encoder by encoder.
RECIPE_POINTS = 2.0  # a recipe is ahead on an encoder if its best-decoder median is lower by at least this many MPE points
RECIPE_VERDICTS = {
    "explains": "the authors' recipe is clearly better and lifts E2 off the constant floor: the recipe explains the gap",
    "better": "the authors' recipe is clearly better, but E2 stays at the constant floor: the recipe does not explain the gap",
    "worse": "the authors' recipe is clearly worse: the verdict now stands on the authors' own training",
    "same": "no measurable difference: the verdict now stands on the authors' own training",
}


def recipe_verdict(authors: dict, ours: dict) -> dict:
    """The rule that judges the authors' recipe against ours at the paper's budget: ``authors``
    and ``ours`` are the two runs' Table 1 blocks (``studies/paper_budget.py table1`` results, on
    the same test MLPs). The authors' recipe is *clearly better* if its best-decoder median is
    lower by at least :data:`RECIPE_POINTS` on at least :data:`MOST_ENCODERS` of the 4 encoders,
    *clearly worse* if higher by as much on as many; it *explains* the gap if it is clearly better
    and beats the constant floor on E2 (:func:`beats_constant`), where ours does not. Returns
    ``{"verdict", "text", "ahead", "behind", "difference", "beats_constant"}`` (``difference``:
    the authors' minus ours, per encoder)."""
    diff = [a - o for a, o in zip(authors["best_median"], ours["best_median"])]
    ahead = [d <= -RECIPE_POINTS for d in diff]
    behind = [d >= RECIPE_POINTS for d in diff]
    beats = beats_constant(authors)
    if sum(ahead) >= MOST_ENCODERS:
        verdict = "explains" if beats[1] and not beats_constant(ours)[1] else "better"
    else:
        verdict = "worse" if sum(behind) >= MOST_ENCODERS else "same"
    return {"verdict": verdict, "text": RECIPE_VERDICTS[verdict], "ahead": ahead, "behind": behind, "difference": diff,
            "beats_constant": beats}


# Written on 2026-12-08, while the search through the authors'-recipe weights ran and before any of its numbers
# existed (the addendum of results/paper-budget-authors/RULE.md): the two runs' Table 2 sigmoid rows, dataset by dataset.
SEARCH_RECIPE_POINTS = 10.0  # a recipe's search is ahead on a dataset if its test MPE is lower by at least this many points
SEARCH_RECIPE_VERDICTS = {
    "better": "the search through the authors'-recipe weights is clearly better",
    "worse": "the search through the authors'-recipe weights is clearly worse",
    "same": "no measurable difference between the two recipes' searches",
}


def search_recipe_verdict(authors: dict, ours: dict) -> dict:
    """The rule that compares the two paper-budget runs' Table 2 sigmoid rows (``authors``,
    ``ours``: ``studies/paper_budget.py table2`` results on the same datasets). Each method's cell
    on a dataset is its test MPE at the depth chosen by validation (:func:`best_decoder`). The
    authors'-recipe search is *clearly better* if lower than ours' search by at least
    :data:`SEARCH_RECIPE_POINTS` on at least :func:`most_datasets` of the datasets, *clearly worse*
    if higher by as much on as many. Returns ``{"verdict", "text", "datasets", "authors", "ours",
    "difference", "losses"}``: per dataset, each search's (depth, test MPE) and the authors' minus
    ours; ``losses``: per run and baseline (of those run), the datasets on which the search's MPE
    is higher than the baseline's."""
    runs = {"authors": authors, "ours": ours}
    searched = {run: {ds: (dec, cell) for act, ds, dec, cell in chosen(t2) if act == "sigmoid"} for run, t2 in runs.items()}
    datasets = list(searched["ours"])
    a = [searched["authors"][ds] for ds in datasets]
    o = [searched["ours"][ds] for ds in datasets]
    diff = [x[1]["mpe"] - y[1]["mpe"] for x, y in zip(a, o)]
    need = most_datasets(len(datasets))
    if sum(d <= -SEARCH_RECIPE_POINTS for d in diff) >= need:
        verdict = "better"
    else:
        verdict = "worse" if sum(d >= SEARCH_RECIPE_POINTS for d in diff) >= need else "same"
    losses = {run: {m: [ds for ds in datasets if searched[run][ds][1]["mpe"] > best_decoder(row[m][ds])[1]["mpe"]]
                    for m in ("direct", "pruned", "l0") if m in row}
              for run, row in ((run, t2["types"]["sigmoid"]) for run, t2 in runs.items())}
    return {"verdict": verdict, "text": SEARCH_RECIPE_VERDICTS[verdict], "datasets": datasets,
            "authors": [(d, c["mpe"]) for d, c in a], "ours": [(d, c["mpe"]) for d, c in o], "difference": diff,
            "losses": losses}


PILOT_PASSES = (256_000, 512_000)  # the pilot: the authors' run's first two validations, at the batch-1,024 run's steps 250 and 500


def recipe_pilot(authors: dict, ours: dict) -> dict:
    """The pilot of the authors' recipe (results/paper-budget-authors/RULE.md): its run's own first
    512,000 MLP passes against the batch-1,024 run at the same passes, on the same validation MLPs
    (``authors``, ``ours``: the two runs' ``curve.json``). Per pilot point (:data:`PILOT_PASSES`)
    that both runs have: each run's updates so far and best-decoder medians, and their difference
    (the authors' minus ours). ``done``: both points exist; ``stops``: the pilot's stop rule, the
    authors' medians higher at 512,000 than at 256,000 passes on all four encoders (a non-finite
    loss stops the loop itself); ``ahead``: the encoders on which the authors' recipe is lower at
    512,000 passes; ``expected``: the written expectation, ahead on at least :data:`MOST_ENCODERS`."""
    def at(curve, passes):
        return next((v for v in curve["val"] if v["mlp_passes"] == passes), None)

    rows = []
    for passes in PILOT_PASSES:
        a, o = at(authors, passes), at(ours, passes)
        if a and o:
            rows.append({"mlp_passes": passes, "updates": (a["step"], o["step"]), "authors": a["best_decoder_median"],
                         "ours": o["best_decoder_median"],
                         "difference": [x - y for x, y in zip(a["best_decoder_median"], o["best_decoder_median"])]})
    done = len(rows) == len(PILOT_PASSES)
    ahead = [d < 0 for d in rows[-1]["difference"]] if done else None
    return {"rows": rows, "done": done, "ahead": ahead, "expected": done and sum(ahead) >= MOST_ENCODERS,
            "stops": done and all(b > a for a, b in zip(rows[0]["authors"], rows[1]["authors"]))}


# ---------------------------------------------------------------- our own claims, beyond the paper
SHAPE_CORRELATION = 0.5  # the symmetry study's rule 2 (results/symmetry/RULE.md): "learns shape" also needs a median correlation with the target of at least this
SYMMETRY_SEEDS = 3  # the rule's seeds per encoder input (results/symmetry/RULE.md)
ENCODER_INPUT_NAMES = {"as_drawn": "as drawn (the paper)", "canonical": "canonical (ours)"}


def _seed_mean(runs: list[dict], key: str) -> list[float]:
    return [sum(r[key][e] for r in runs) / len(runs) for e in range(4)]


def _seed_spread(runs: list[dict], key: str) -> list[float]:
    return [max(r[key][e] for r in runs) - min(r[key][e] for r in runs) for e in range(4)]


def symmetry_verdict(study: dict) -> dict:
    """The symmetry study's rule (``results/symmetry/RULE.md``, committed before its numbers) on the symmetry
    study (``studies/symmetry_study.py``). Per encoder input, over its seeds, per encoder: the mean
    and spread (max - min) of the best-decoder median and mean, the near-constant share and the
    median correlation. Then rule 1, ``effect``: the canonical input ``"helps"`` where its mean
    median is below the as-drawn input's by more than the as-drawn seed spread on at least
    :data:`MOST_ENCODERS` encoders, ``"hurts"`` the other way round, else ``"no measurable
    difference"``; and rule 2, ``learns_shape``: on at least :data:`MOST_ENCODERS` encoders the
    canonical input's mean median beats the constant floor (:data:`MARGIN`) and its mean median
    correlation is at least :data:`SHAPE_CORRELATION`. ``complete``: every input has the rule's
    :data:`SYMMETRY_SEEDS` seeds."""
    runs = {v: sorted((r for r in study["runs"] if r["encoder_input"] == v), key=lambda r: r["seed"]) for v in ENCODER_INPUT_NAMES}
    missing = [v for v, rs in runs.items() if not rs]
    if missing:
        raise ValueError(f"the symmetry study has no run with encoder_input {missing[0]!r}: run studies/symmetry_study.py")
    keys = ("best_median", "best_mean", "near_constant_share", "median_correlation")
    per = {v: {"seeds": [r["seed"] for r in rs], "train_seconds": sum(r["train_seconds"] for r in rs) / len(rs),
               **{k: _seed_mean(rs, k) for k in keys}, **{k + "_spread": _seed_spread(rs, k) for k in keys},
               "dead_decoders": sorted({d for r in rs for d in r["dead_decoders"]})} for v, rs in runs.items()}
    raw, canon = per["as_drawn"], per["canonical"]
    lower = [c < a - s for c, a, s in zip(canon["best_median"], raw["best_median"], raw["best_median_spread"])]
    higher = [c > a + s for c, a, s in zip(canon["best_median"], raw["best_median"], raw["best_median_spread"])]
    effect = "helps" if sum(lower) >= MOST_ENCODERS else "hurts" if sum(higher) >= MOST_ENCODERS else "no measurable difference"
    const = study["floors"]["constant"]["median"]
    shape = [m < MARGIN * f and r >= SHAPE_CORRELATION for m, f, r in zip(canon["best_median"], const, canon["median_correlation"])]
    return {"inputs": per, "effect": effect, "lower": lower, "higher": higher, "shape_per_encoder": shape,
            "learns_shape": sum(shape) >= MOST_ENCODERS, "paper_mlp_passes": get_config("paper").mlp_passes,
            "complete": all(len(rs) >= SYMMETRY_SEEDS for rs in runs.values())}


AGREE = 0.05  # MPE points: two scores of one autoencoder on the same MLPs that differ by less are one number


def seed_study_drift(study: dict, own: dict, scale: str) -> dict:
    """Does the committed seed study (the symmetry study's as-drawn runs) still describe the book's
    own sigmoid-based min-loss autoencoder? Its seed-0 run against ``own`` (that autoencoder's
    Table 1 block at ``scale``, :func:`swao.book.autoencoders.mpe_table`), on the same test MLPs:
    ``comparable`` (same scale and test MLPs), the largest gap over the encoders in MPE points,
    the seeds' spread per encoder and on how many encoders the gap exceeds it, ``agree`` (every
    gap under :data:`AGREE`) and the commit behind each."""
    raw = symmetry_verdict(study)["inputs"]["as_drawn"]
    seed0 = next((r for r in study["runs"] if r["encoder_input"] == "as_drawn" and r["seed"] == 0), None)
    comparable = seed0 is not None and study["scale"] == scale and study["eval_mlps"] == own.get("eval_mlps")
    gaps = [abs(a - b) for a, b in zip(seed0["best_median"], own["best_median"])] if comparable else None
    return {"comparable": comparable, "study_scale": study["scale"], "gap": max(gaps) if gaps else None,
            "agree": comparable and max(gaps) < AGREE, "spread": raw["best_median_spread"],
            "beyond_spread": sum(g > s for g, s in zip(gaps, raw["best_median_spread"])) if gaps else None,
            "seed0": seed0["best_median"] if seed0 else None,
            "own": own["best_median"], "study_commit": (seed0 or study["runs"][0])["provenance"].get("commit"),
            "own_commit": own.get("provenance", {}).get("commit")}


def own_claims(symmetry: dict | None) -> list[dict]:
    """Our own claims beyond the paper, checked like the paper's (:func:`check`'s rows), from the
    committed symmetry study (``None``: not run, every claim :data:`NOT_RUN`)."""
    v = symmetry_verdict(symmetry) if symmetry else None
    canon = v["inputs"]["canonical"] if v else None
    raw = v["inputs"]["as_drawn"] if v else None
    rows = [
        ("Sorting each hidden layer's neurons before encoding (the MLP's permutation symmetry respected) lowers the "
         "held-out error of the small sigmoid-based min-loss autoencoder",
         f"the canonical input's best-decoder median (mean of {SYMMETRY_SEEDS} seeds) below the paper's input's by more than "
         f"the latter's seed spread on >= {MOST_ENCODERS} of 4 encoders, at equal MLP passes",
         (lambda: (f"best-decoder median {slash(canon['best_median'])} % against {slash(raw['best_median'])} % "
                   f"(spread {slash(raw['best_median_spread'])})", HELD if v["effect"] == "helps" else NOT_HELD))),
        ("With the symmetry respected, the small autoencoder's embedding learns the functions' shape",
         f"the canonical input's best-decoder median beats the constant floor and its median correlation is >= "
         f"{SHAPE_CORRELATION} on >= {MOST_ENCODERS} of 4 encoders",
         (lambda: (f"median {slash(canon['best_median'])} % (constant {slash(symmetry['floors']['constant']['median'])}), "
                   f"correlation {slash(canon['median_correlation'], 2)}", HELD if v["learns_shape"] else NOT_HELD))),
    ]
    out = []
    for text, rule, run in rows:
        ours, mark = run() if v else ("–", NOT_RUN)
        if v and not v["complete"]:
            ours += f" (only seeds {', '.join(map(str, canon['seeds']))} so far)"
        out.append({"claim": text, "source": "ours, beyond the paper", "paper": "–", "rule": rule, "page": "10_symmetry",
                    "ours": ours, "mark": mark, "scale": symmetry["scale"] if symmetry else None})
    return out


__all__ = ["HELD", "NOT_HELD", "NOT_TESTABLE", "NOT_RUN", "MARKS", "ALL_METHODS", "budget_evidence", "budget_cpus", "budget_used",
           "budget_expectations", "budget_recipe", "TWICE", "RECIPE_POINTS", "RECIPE_VERDICTS", "recipe_verdict", "SEARCH_RECIPE_POINTS",
           "SEARCH_RECIPE_VERDICTS", "search_recipe_verdict", "PILOT_PASSES",
           "recipe_pilot", "Claim", "CLAIMS", "check", "evidence", "compute_used",
           "beats_constant", "spearman", "chosen", "most_datasets", "MOST_DATASETS",
           "SHAPE_CORRELATION", "SYMMETRY_SEEDS", "ENCODER_INPUT_NAMES", "symmetry_verdict", "own_claims", "AGREE",
           "seed_study_drift"]
