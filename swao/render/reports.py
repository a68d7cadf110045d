"""The tables of our own studies, beside the paper's (:mod:`swao.render.tables` renders the paper's
Tables 1-3 and the baselines): the floors, the recipe and search studies, the scaling study and
its verdict, and the findings page. Each is drawn from a result, never computed here.
"""
from __future__ import annotations

from swao.method.activations import TYPE_NAMES
from swao.method.metrics import NEAR_CONSTANT
from swao.book.findings import (ALL_METHODS, ENCODER_INPUT_NAMES, MARGIN, RECIPE_POINTS, SEARCH_RECIPE_POINTS, SHAPE_CORRELATION,
                                budget_cpus, budget_expectations, budget_recipe, most_datasets, recipe_pilot, recipe_verdict,
                                search_recipe_verdict, seed_study_drift, symmetry_verdict)
from swao.book.paper import PAPER_TRAINING, paper_tables
from swao.ours import scaling_law
from swao.ours.table2 import DATASETS, METHODS
from swao.book.numbers import slash
from swao.book.stages import mlp_type
from swao.render.tables import COLLAPSED, ENCODERS, Table, fmt, provenance_note

NEAR_CONSTANT_ALL = 0.9  # an autoencoder "outputs a constant" when this share of its best decodings is near-constant on every encoder


def training_table(trained: dict, floors: dict | None = None, caption: str = "Training: where each autoencoder ended") -> Table:
    """Page 03's one view of training: per autoencoder (rows), its steps, last training loss and
    training seconds, and its last validation as the learning-curve figure draws it: each
    validation MLP's best decoder, the median over the MLPs, per encoder and their mean. With
    ``floors`` (:func:`swao.book.autoencoders.validation_floors`), the constant's on the same
    MLPs, one row per MLP type, and a mark on each cell that beats it; an autoencoder whose best
    decodings are near-constant on every encoder is named so. One aggregation, stated in the note;
    the test-set tables beside the paper's are page 04's."""
    rows, below, cells, const_rows = [], 0, 0, {}
    for name, r in trained.items():
        h = r["history"]
        val = [v for v in h["val"] if "best_decoder_median" in v]
        med = val[-1]["best_decoder_median"] if val else [None] * len(ENCODERS)
        mean = sum(med) / len(med) if val else None
        const = floors[name]["constant"]["median"] if floors else None
        marks = [""] * len(med)
        if const and val:
            beats = [m < MARGIN * c for m, c in zip(med, const)]
            marks = [" ✓" if b else "" for b in beats]
            below, cells = below + sum(beats), cells + len(med)
            const_rows.setdefault(mlp_type(name), const)
        flat = val and "near_constant_share" in val[-1] and min(val[-1]["near_constant_share"]) >= NEAR_CONSTANT_ALL
        rows.append([name + (" (constant output)" if flat else ""), f"{h['step'][-1]:,}", fmt(h["loss"][-1], 3),
                     fmt(r.get("train_seconds"), 0), *[fmt(v, 1) + k for v, k in zip(med, marks)], fmt(mean, 1)])
    for act, const in const_rows.items():
        rows.append([f"constant (oracle), {act} MLPs", "", "", "", *[fmt(c, 1) for c in const], fmt(sum(const) / len(const), 1)])
    note = ("MPE %: each validation MLP's best decoder, the median over the validation MLPs of each encoder (the "
            "figure's view), and its mean over the four encoders. Training seconds are wall time on the hardware named "
            "in the provenance.")
    if const_rows:
        caption += f" (beats the constant in {below} of {cells} cells)"
        note += (" The constant rows: each validation MLP's own median output over the grid (an oracle), scored the same "
                 f"way; ✓: the autoencoder beats it (by the book's margin: below {MARGIN:g} times it). Constant output: on every encoder at least "
                 f"{NEAR_CONSTANT_ALL:.0%} of the best decodings vary by under {NEAR_CONSTANT:.0%} of their target.")
    return Table(caption, ["autoencoder", "steps", "last loss", "training s", *ENCODERS, "mean"], rows, note)


def floors_table(results: dict, prov: dict | None) -> Table:
    """Does the autoencoder beat a predictor that ignores it? Per autoencoder and encoder, the
    median over the test MLPs of each MLP's best decoder's MPE beside, on the same MLPs, the
    oracle constant's and the linear fit's (:mod:`swao.training.diagnostics`); then the share of
    near-constant best decodings and the median correlation with the target. Seven narrow
    columns (the page's width): a cell that beats a floor is marked, the dead decoders go beside
    the autoencoder's name."""
    rows, beats = [], 0
    for name, r in results.items():
        f, c = r["floors"], r["collapse"]
        dead = ", ".join(c["dead_decoders"])
        for e, enc in enumerate(ENCODERS):
            ours, const, lin = r["best_median"][e], f["constant"]["median"][e], f["linear"]["median"][e]
            mark = " ✓✓" if ours < lin and ours < const else (" ✓" if ours < const else "")
            beats += ours < const
            label = (f"{name} (dead: {dead})" if dead else name) if e == 0 else ""
            rows.append([label, enc, fmt(ours, 1) + mark, fmt(const, 1), fmt(lin, 1),
                         f"{100 * c['near_constant_share'][e]:.0f} %", f"{c['median_correlation'][e]:+.2f}"])
    caption = (f"Floors: the best decoder's median MPE (%) against a constant and a linear fit on the same test MLPs "
               f"(ours beats the constant in {beats} of {len(rows)} cases)")
    header = ["autoencoder", "encoder", "best decoder", "constant (oracle)", "linear fit", "near-constant", "median corr."]
    note = (f"Medians over the test MLPs, the floors' as the decoders'. ✓: below the constant; ✓✓: below both floors. The "
            "constant is each MLP's own median output over the grid (an oracle), the linear fit a least-squares plane on "
            f"the grid. Near-constant: the best decoding's standard deviation over the grid is under {NEAR_CONSTANT:.0%} of "
            "the target's. Dead: a decoder that decodes most MLPs with a layer that passes nothing. " + provenance_note(prov))
    return Table(caption, header, rows, note)


def recipe_label(run: dict) -> str:
    """A recipe study run's name, with its seed where not the default 0."""
    return run["name"] + (f" (seed {run['seed']})" if run.get("seed") else "")


def recipe_table(study: dict) -> Table:
    """The autoencoder recipe study (``studies/recipe_study.py``): per recipe, its steps in the
    budget, the held-out best-decoder median and mean per encoder; then the floors.
    :func:`recipe_collapse_table` gives the collapse views."""
    f = study["floors"]
    rows = [[recipe_label(r), f"{r['steps']:,} x {r['mlp_passes'] // r['steps']}", f"{r['train_seconds']:.0f}",
             fmt(r["final_loss"]), slash(r["best_median"]), slash(r["best_mean"])] for r in study["recipes"]]
    for name in ("constant", "linear"):
        rows.append([f"floor: {'oracle constant' if name == 'constant' else 'linear fit'}", "", "", "",
                     slash(f[name]["median"]), slash(f[name]["mean"])])
    header = ["recipe", "steps x batch", "train s", "final loss", "best decoder: median MPE % (E1-E4)", "mean (E1-E4)"]
    length = (f"{study['mlp_passes']:,} MLP passes per recipe" if study.get("mlp_passes") else
              f"{study['budget_s']:.0f} s of training steps per recipe (steps set from each recipe's measured MLPs/s)")
    note = (f"The sigmoid-based min-loss autoencoder, `small` sizes otherwise, {length}; {study['eval_mlps']} held-out MLPs per encoder "
            f"(the book's Table 1 MLPs). Command: `{study['command']}`. " + provenance_note(study.get("provenance"))
            + _later_runs(study))
    return Table("The recipe study: what learns in the CPU budget", header, rows, note)


def _later_runs(study: dict) -> str:
    """Which runs of a study were added (``--append``) at another commit or on other hardware
    than the study's provenance names, and where and when: ``""`` where none was (a run recorded
    without its own provenance, as the first studies were, is taken to be the study's)."""
    first = study.get("provenance") or {}
    later: dict = {}
    for r in study["recipes"]:
        p = r.get("provenance")
        where = p and (p.get("commit", "?"), p.get("hardware", "?"))
        if where and where != (first.get("commit"), first.get("hardware")):
            later.setdefault(where, []).append(r)
    return "".join(f" Added later at {commit}, on {hardware}, from {min(r['provenance'].get('date', '?') for r in runs)}: "
                   f"{', '.join(recipe_label(r) for r in runs)}." for (commit, hardware), runs in later.items())


def recipe_collapse_table(study: dict) -> Table:
    """The recipe study's collapse views, per recipe: near-constant best decodings and their
    median correlation with the target per encoder, the dead decoders and the active neurons."""
    rows = [[recipe_label(r), slash([100 * v for v in r["near_constant_share"]], 0), slash(r["median_correlation"], 2),
             ", ".join(r["dead_decoders"]) or "none",
             slash([sum(d["active_per_layer"]) / len(d["active_per_layer"]) for d in r["decoders"]])]
            for r in study["recipes"]]
    header = ["recipe", "near-constant % (E1-E4)", "median corr. (E1-E4)", "dead decoders", "active neurons per layer (D1-D4)"]
    return Table("The recipe study: do the decodings follow the shape?", header, rows,
                 "The same runs and held-out MLPs as the table above.")


def search_study_table(study: dict) -> Table:
    """The search study (``studies/search_study.py``): per MLP type and variant, dead starts and
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
                         f"{v['dead_end']} / {v['triples']}", slash(v["t"], 2), slash(v["nonzeros"], 0), best,
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
    """The scaling study (``studies/training_scaling.py``, :mod:`swao.ours.scaling_law`), the
    paper's view: Table 1's best cell per encoder (columns) at each training budget (rows), the
    fitted power law's factor per 10x of compute and its prediction at the paper's passes beside
    the paper's Table 1. :func:`scaling_median_table` gives the robust view."""
    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    cell = scaling_law.trend(study, "best_cell")
    verdict = scaling_law.verdict(study)["per_encoder"]
    rows = [[_budget(r), *[fmt(v, 1) for v in scaling_law.view(r, "best_cell")]] for r in runs]
    rows += [["per 10x compute", *[f"x{t['per_decade']:.2f}" for t in cell]],
             ["the fit at 12.8 M", *[fmt(t["predicted"], 1) for t in cell]],
             ["the paper (12.8 M)", *[fmt(t["paper"], 2) for t in cell]],
             ["the fit against the paper", *verdict]]
    prov = runs[-1].get("provenance")
    made = [r.get("provenance") or {} for r in runs] + [p.get("provenance") or {} for p in study.get("curve", {}).get("points", [])]
    commands = "; ".join(f"`{c}`" for c in dict.fromkeys(m["command"] for m in made if m.get("command")))
    note = (f"The sigmoid-based min-loss autoencoder with the small recipe, trained with x times small's MLPs per epoch "
            f"(MLP passes = steps x batch 64); {study['eval_mlps']} test MLPs per encoder. Best cell: the lowest decoder "
            f"mean MPE % in Table 1's layout, like the paper's numbers; per 10x compute: the fitted power law's factor. "
            f"'reaches': the fit at 12.8 M is within {scaling_law.REACHES:g}x of the paper; 'far': over {scaling_law.FAR:g}x, or "
            f"no fall with compute. Commands: {commands}. " + provenance_note(prov))
    return Table("Scaling, the paper's view: Table 1's best cell (mean MPE %) against training compute, and its trend "
                 "to the paper's 12.8 M passes", ["training budget", *ENCODERS], rows, note)


def scaling_median_table(study: dict) -> Table:
    """The scaling study's robust view: each MLP's best decoder, the median over the test MLPs,
    per encoder (columns) at each budget (rows), its factor per 10x and its fit at the paper's
    passes, beside the constant floor on the same MLPs (the paper reports no median)."""
    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    med = scaling_law.trend(study, "best_median")
    rows = [[_budget(r), *[fmt(v, 1) for v in scaling_law.view(r, "best_median")]] for r in runs]
    rows += [["per 10x compute", *[f"x{t['per_decade']:.2f}" for t in med]],
             ["the fit at 12.8 M", *[fmt(t["predicted"], 1) for t in med]],
             ["constant floor (median)", *[fmt(v, 1) for v in study["floors"]["constant"]["median"]]]]
    return Table("Scaling, the robust view: each MLP's best decoder (median MPE % over the test MLPs) against "
                 "training compute", ["training budget", *ENCODERS], rows,
                 "The same runs and test MLPs as the table above. " + provenance_note(runs[-1].get("provenance")))


def _budget(run: dict) -> str:
    return f"x{run['factor']:g} ({run['mlp_passes'] / 1e6:.2g} M passes)"


def scaling_verdict(study: dict) -> str:
    """What the scaling study supports, view by view, written from its numbers: the paper's view
    (each encoder's best table cell, a mean over MLPs) against the paper's cells, and the robust
    view (each MLP's best decoder, the median over MLPs) against the oracle constant; each with
    its fit and how far it is extrapolated."""
    v, cell = scaling_law.verdict(study), scaling_law.trend(study, "best_cell")
    med = scaling_law.trend(study, "best_median")
    last = max(study["runs"], key=lambda r: r["mlp_passes"])
    floor = study["floors"]["constant"]["median"]
    beats = sum(m < f for m, f in zip(last["best_median"], floor))
    predicted_beats = sum(t["predicted"] < f for t, f in zip(med, floor))
    falling = sum(t["per_decade"] < 1 for t in med)
    counts = {k: v["per_encoder"].count(k) for k in ("reaches", "between", "far")}
    hardware = (last.get("provenance") or {}).get("hardware", "?")
    return (f"The sigmoid-based min-loss autoencoder with the small recipe, trained on {hardware} at "
            f"{len(study['runs'])} budgets up to {last['mlp_passes'] / 1e6:.2g} M MLP passes. Each view's power law is "
            f"extrapolated {v['extrapolation']:.1f}x further ({v['decades']:.1f} decades) to the paper's 12.8 M: a hint, "
            "not a measurement.\n\n"
            f"- **The paper's view (best cells): {v['whole']}.** Each encoder's best table cell, a mean over MLPs, is "
            f"multiplied by {slash([t['per_decade'] for t in cell], 2)} per 10x of compute; its fit predicts "
            f"{slash([t['predicted'] for t in cell])} % (E1-E4) at 12.8 M against the paper's "
            f"{slash([t['paper'] for t in cell])} %: {counts['reaches']} encoder(s) reach the paper, {counts['between']} "
            f"fall between, {counts['far']} stay far. A mean moves with the few MLPs whose outputs come near zero, so "
            "this view is the noisier one.\n"
            f"- **The robust view (medians): falls with compute on {falling} of 4 encoders.** Each MLP's best-decoder "
            f"MPE, the median over MLPs, is multiplied by {slash([t['per_decade'] for t in med], 2)} per 10x; its fit "
            f"predicts {slash([t['predicted'] for t in med])} % at 12.8 M, below the oracle constant's "
            f"{slash(floor)} % on {predicted_beats} of 4 encoders. At the largest budget it beats the constant on "
            f"{beats} of 4 ({slash(last['best_median'])} %). The paper reports no median to set beside it.\n\n"
            "The test of both is the paper-budget run (one autoencoder trained for the paper's 12.8 M passes on a CPU; "
            "\"Does it learn at this scale?\"), and a paper-scale run on a GPU (`results/paper/`).")


FINDING_MARKS = {"held": "✓ held", "not held": "✗ not held", "not testable at this scale": "– not testable at this scale",
                 "not run at this scale": "· not run at this scale"}
# the findings' columns that are runs rather than scales: the paper's budget on a CPU, one per recipe (studies/paper_budget.py)
RUN_NAMES = {"paper-budget": "the paper's budget by our recipe", "paper-budget-authors": "the paper's budget by the authors' recipe"}


def scale_name(scale: str) -> str:
    """How the findings name a column: ``"small scale"``; a paper-budget run by its recipe (:data:`RUN_NAMES`)."""
    return RUN_NAMES.get(scale, f"{scale} scale")


def findings_table(checks: dict[str, list[dict]]) -> Table:
    """The findings page (:mod:`swao.book.findings`): per claim of the paper (with the page of its
    evidence), the paper's number, then at each scale present (``checks``: scale ->
    :func:`swao.book.findings.check`) the mark, in bold, and ours after it: one column per scale,
    so that the table fits the page's column."""
    scales = list(checks)
    first = checks[scales[0]]
    rows = []
    for k, c in enumerate(first):
        link = f"[{c['page'].split('_', 1)[1].replace('_', ' ')}]({c['page']}.ipynb)"
        row = [f"**{c['claim']}** ({c['source']}; evidence: {link})", c["paper"]]
        for sc in scales:
            ours = checks[sc][k]
            row.append(f"**{FINDING_MARKS[ours['mark']]}**" + ("" if ours["ours"] == "–" else f": {ours['ours']}"))
        rows.append(row)
    counts = "; ".join(f"{scale_name(sc)}: " + _counts([c["mark"] for c in checks[sc]]) for sc in scales)
    note = ("The rule of each claim: " + " ".join(f"({k + 1}) {c['rule']}." for k, c in enumerate(first)) + f" Counts: {counts}.")
    return Table("What held: the paper's claims against our results", ["the paper's claim", "the paper's number",
                 *[f"ours, {scale_name(sc)}" for sc in scales]], rows, note)


def _minutes(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minute{'' if round(seconds / 60) == 1 else 's'}"


def compute_sentence(used: dict) -> str:
    """What one scale's findings cost, in one sentence (:func:`swao.book.findings.compute_used`):
    the time of training and of search on which hardware, each autoencoder's share of the
    paper's MLP passes and its width."""
    train = sum(used["train_seconds"].values())
    share = 100 * used["train_passes"] / used["paper_passes"]
    share_text = f"{share:.0f}" if share >= 10 else f"{share:.2g}"  # 100, 13, 0.8, 0.004 (never 1e+02)
    width = "" if used.get("width", 1) == 1 else f" at {used['width']:g} x the paper's width"
    n = len(used["train_seconds"])
    search = (f" and {_minutes(used['search_seconds'])} of {used.get('search_with', ALL_METHODS)}" if used["search_seconds"] else
              " (no search)")
    recipe = f", by {used['recipe']}" if used.get("recipe") else ""
    return (f"Made with {_minutes(train)} of autoencoder training ({n} autoencoder{'s' if n > 1 else ''}{recipe}, "
            f"{'each ' if n > 1 else ''}on {share_text} % of the paper's {used['paper_passes'] / 1e6:.1f} M MLP passes{width}; "
            f"the paper: about {PAPER_TRAINING['hours_per_autoencoder']} h per autoencoder on {PAPER_TRAINING['hardware']})"
            f"{search}, on {used['hardware']}.")


def _counts(marks: list[str]) -> str:
    """``"0 held, 6 not held, ..."``: every mark, but "not run" only where some claim has it."""
    return ", ".join(f"{marks.count(m)} {m}" for m in FINDING_MARKS if marks.count(m) or m != "not run at this scale")


def findings_summary(checks: dict[str, list[dict]], used: dict[str, dict] | None = None, config=None) -> str:
    """The findings in a few lines (the top of the book's intro): per scale, the count of each
    mark and what the scale cost (``used``: :func:`swao.book.findings.compute_used` per scale),
    then each claim with its mark at every scale, then the options beyond the paper that
    ``config`` (the book's scale) turns on."""
    lines = []
    for sc, cs in checks.items():
        counts = _counts([c["mark"] for c in cs])
        cost = f" {compute_sentence(used[sc])}" if used and sc in used else ""
        lines += [f"**At {scale_name(sc)}, of the paper's {len(cs)} claims: {counts}.**{cost}", ""]
    for k, c in enumerate(next(iter(checks.values()))):
        marks = "; ".join(f"**{checks[sc][k]['mark'].replace(' at this scale', '')}** ({scale_name(sc)})" for sc in checks)
        lines.append(f"- {c['claim']} ({c['source']}): {marks}")
    options = config.options() if config is not None else {}
    if options:
        lines += ["", f"The {config.scale} scale runs the paper's method with {len(options)} options beyond the paper, each "
                      f"explained on the deviations page: " + ", ".join(f"`{k}={v}`" for k, v in options.items()) + "."]
    return "\n".join(lines)


def compute_table(used: dict[str, dict]) -> Table:
    """The compute behind each scale's findings (:func:`swao.book.findings.compute_used`)."""
    rows = []
    for sc, u in used.items():
        train = sum(u["train_seconds"].values())
        n = len(u["train_seconds"])
        rows.append([scale_name(sc), u["hardware"], f"{n} autoencoder{'s' if n > 1 else ''}, {train / 60:,.1f} min",
                     (f"{u['search_seconds'] / 60:.1f} min" + ("" if u.get("search_with", ALL_METHODS) == ALL_METHODS
                                                               else f" ({u['search_with']} only)")) if u["search_seconds"] else "none",
                     u["sizes"] or ""])
    return Table("The compute used", ["scale or run", "hardware", "training", "search and baselines", "sizes"], rows)


def own_claims_table(rows: list[dict]) -> Table:
    """Our own claims beyond the paper (:func:`swao.book.findings.own_claims`), as the paper's are
    shown: the claim, our number, the mark, the page with the evidence; the rules under it."""
    body = [[f"**{c['claim']}**", c["ours"], FINDING_MARKS[c["mark"]],
             f"[{c['page'].split('_', 1)[1].replace('_', ' ')}]({c['page']}.ipynb)"] for c in rows]
    note = "The rule of each claim, fixed before its numbers: " + " ".join(f"({k + 1}) {c['rule']}." for k, c in enumerate(rows))
    scale = rows[0].get("scale") or "small"
    return Table("What held: our own claims against rules fixed before their numbers", ["our claim", f"ours, {scale} scale", "mark", "evidence"], body, note)


def _seed_cell(mean: float, spread: float, n: int) -> str:
    return fmt(mean, 1) + (f" ({fmt(spread, 1)})" if n > 1 else "")


def symmetry_table(study: dict, inputs: tuple[str, ...] = tuple(ENCODER_INPUT_NAMES), scaling: dict | None = None) -> Table:
    """The symmetry study (``studies/symmetry_study.py``): per encoder input and training seed,
    its training seconds and the held-out best-decoder median MPE per encoder (columns), then
    per input the seed mean with the spread (max - min), the x16-compute run of the scaling
    study where given (``scaling``: its committed result, the same test MLPs), and the floors.
    ``inputs``: the encoder inputs shown (``("as_drawn",)``: the seed variance of the small
    sigmoid-based min-loss recipe). :func:`symmetry_collapse_table` gives the rest."""
    v = symmetry_verdict(study)
    rows = []
    for name in inputs:
        runs = sorted((r for r in study["runs"] if r["encoder_input"] == name), key=lambda r: r["seed"])
        for r in runs:
            rows.append([ENCODER_INPUT_NAMES[name], str(r["seed"]), f"{r['train_seconds']:.0f}", *[fmt(x, 1) for x in r["best_median"]]])
        p = v["inputs"][name]
        rows.append([f"**{ENCODER_INPUT_NAMES[name]}: mean (spread)**", f"{len(runs)} seed{'s' * (len(runs) > 1)}", f"{p['train_seconds']:.0f}",
                     *[_seed_cell(m, s, len(runs)) for m, s in zip(p["best_median"], p["best_median_spread"])]])
    big = max(scaling["runs"], key=lambda r: r["mlp_passes"]) if scaling else None
    if big:
        rows.append([f"as drawn, x{big['factor']:g} the passes (scaling study)", "0",
                     f"{big['train_seconds']:.0f}" if big.get("train_seconds") else "–", *[fmt(x, 1) for x in big["best_median"]]])
    for f in ("constant", "linear"):
        rows.append([f"floor: {'oracle constant' if f == 'constant' else 'linear fit'}", "", "",
                     *[fmt(x, 1) for x in study["floors"][f]["median"]]])
    passes, paper = study["runs"][0]["mlp_passes"], v["paper_mlp_passes"]
    canonical = "; the canonical rows add `encoder_input=canonical`" if "canonical" in inputs else ""
    note = (f"Each MLP's best decoder, the median over the {study['eval_mlps']} held-out test MLPs per encoder of the "
            f"book's Table 1 (the floors: medians over the same MLPs); every training {passes:,} MLP passes "
            f"({100 * passes / paper:.2g} % of the paper's {paper / 1e6:.1f} M), the {study['scale']} recipe{canonical}. Spread: max - min over the seeds. "
            f"Command: `{study['command']}`. " + provenance_note(study["runs"][0].get("provenance")))
    title = ("The symmetry study: best-decoder median MPE (%), the paper's input against the canonical one" if len(inputs) > 1
             else "Seed variance: the small sigmoid-based min-loss recipe trained with three seeds, best-decoder median MPE (%)")
    return Table(title, ["encoder input", "seed", "seconds", *ENCODERS], rows, note)


def found_formulas(views: list[dict]) -> str:
    """The search's found MLPs as formulas (:func:`swao.ours.export.formula`, in the user's
    units), one block per dataset and type. A collapsed one (†: a near-constant function) is one
    line, not its neurons; below it, the best depth that did not collapse, where one did
    (:func:`swao.book.your_data.live_alternative`)."""
    from swao.ours.export import formula

    blocks = []
    for v in views:
        f = v["found"]["search"]
        head = f"{v['dataset']} ({v['activation']}-based), {f['decoder']}, {f['nonzeros']} non-zeros, test MPE {fmt(f['mpe'])} %"
        if not f.get("collapsed"):
            blocks.append(head + ":\n" + formula(f["matrix"], v["activation"], v["units"], x=v["x"]))
            continue
        lines = [head + f"{COLLAPSED}: it computes a near-constant function; its formula is not printed."]
        live = f.get("live")
        if live:
            lines += [f"  the best depth that did not collapse, {live['decoder']}: {live['nonzeros']} non-zeros, test MPE "
                      f"{fmt(live['mpe'])} %:", formula(live["matrix"], v["activation"], v["units"], x=v["x"])]
        else:
            lines.append("  every depth's MLP collapsed.")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def seed_study_note(study: dict, own: dict, scale: str) -> str:
    """What the committed seed study says of the book's own autoencoder, with the commit behind
    each number (:func:`swao.book.findings.seed_study_drift`): the same scores, or how far apart."""
    d = seed_study_drift(study, own, scale)
    if not d["comparable"]:
        return (f"The seed study was made at {d['study_scale']} scale (commit `{d['study_commit']}`); this page's "
                f"autoencoders are the {scale} scale's, so its spread is a property of the {d['study_scale']} recipe, "
                "not an error bar on the numbers above.")
    both = (f"The seed study's seed 0 (commit `{d['study_commit']}`) scores {slash(d['seed0'])} %; the book's own sigmoid-based min-loss "
            f"autoencoder (commit `{d['own_commit']}`) scores {slash(d['own'])} % on the same test MLPs")
    if d["agree"]:
        return both + ": the same autoencoder. The spread below is its seed spread."
    return (both + f": they differ by up to {d['gap']:.1f} points, by more than the seeds' spread on {d['beyond_spread']} of 4 "
            "encoders. "
            "The training code has changed since the study was made, so the book's autoencoder is not one of its seeds: "
            "read the spread as a property of the recipe, not as an error bar on the numbers above.")


def symmetry_collapse_table(study: dict) -> Table:
    """The symmetry study's other views, per encoder input (seed means; spread in brackets where
    it matters): the best-decoder mean MPE, the near-constant share and the median correlation
    per encoder, and the dead decoders of any seed."""
    v = symmetry_verdict(study)
    rows = []
    for name, p in v["inputs"].items():
        rows.append([ENCODER_INPUT_NAMES[name], slash(p["best_mean"]), slash([100 * x for x in p["near_constant_share"]], 0),
                     slash(p["median_correlation"], 2), ", ".join(p["dead_decoders"]) or "none"])
    header = ["encoder input", "best-decoder mean MPE % (E1-E4)", "near-constant % (E1-E4)", "median corr. (E1-E4)", "dead decoders"]
    return Table("The symmetry study: the mean, collapse and shape (seed means)", header, rows,
                 f"The same runs and test MLPs as the table above; near-constant: a best decoding whose standard deviation over "
                 f"the grid is under {NEAR_CONSTANT:.0%} of the target's.")


def symmetry_summary(study: dict) -> str:
    """The symmetry study's two verdicts in words, by the rule of ``results/symmetry/RULE.md``
    (:func:`swao.book.findings.symmetry_verdict`)."""
    v = symmetry_verdict(study)
    raw, canon = v["inputs"]["as_drawn"], v["inputs"]["canonical"]
    effect = {"helps": "it lowers the held-out error", "hurts": "it raises the held-out error",
              "no measurable difference": "no measurable difference"}[v["effect"]]
    seeds = f"{len(canon['seeds'])} seed{'s' if len(canon['seeds']) > 1 else ''} each"
    cost = canon["train_seconds"] / raw["train_seconds"]
    lines = [f"**Rule 1, does sorting the neurons help? {effect[0].upper() + effect[1:]}.** Best-decoder medians "
             f"{slash(canon['best_median'])} % (canonical) against {slash(raw['best_median'])} % (as drawn), {seeds}; "
             f"lower by more than the as-drawn seed spread on {sum(v['lower'])} of 4 encoders, higher by more on "
             f"{sum(v['higher'])}.",
             f"**Rule 2, does the embedding then learn the functions' shape? {'Yes' if v['learns_shape'] else 'No'}.** "
             f"{sum(v['shape_per_encoder'])} of 4 encoders beat the constant floor with a median correlation of at least "
             f"{SHAPE_CORRELATION}; the canonical input's median correlation is {slash(canon['median_correlation'], 2)}.",
             f"At equal MLP passes a canonical training took {canon['train_seconds']:.0f} s against {raw['train_seconds']:.0f} s"
             + (f" (x{cost:.2f}: within timing noise, so the comparison at equal passes is also one at equal wall time)."
                if abs(cost - 1) < 0.05 else f" (x{cost:.2f}: the sort's cost on the same CPU; at equal wall time the "
                f"{'as-drawn' if cost > 1 else 'canonical'} input would have had {abs(cost - 1):.0%} more steps).")]
    if not v["complete"]:
        lines.append("The rule asks for three seeds per input; this result has fewer, so both verdicts are provisional.")
    return "\n\n".join(lines)


__all__ = ["training_table", "floors_table", "recipe_label", "recipe_table", "recipe_collapse_table", "search_study_table", "scaling_table",
           "scaling_median_table", "scaling_verdict", "FINDING_MARKS", "RUN_NAMES", "scale_name",
           "findings_table", "compute_sentence", "findings_summary", "compute_table", "paper_budget_summary",
           "recipe_pilot_table", "recipe_comparison", "search_recipe_comparison",
           "paper_budget_expectations",
           "paper_budget_against_fit",
           "own_claims_table", "symmetry_table", "symmetry_collapse_table", "symmetry_summary",
           "seed_study_note", "found_formulas"]


def paper_budget_against_fit(curve: dict, scaling: dict) -> str:
    """Did the scaling study's prediction hold? The paper-budget run's last stop, scored on
    the scaling study's test MLPs (``curve["scored"]``), beside each view's power law
    (:func:`swao.ours.scaling_law.trend`) evaluated at the run's MLP passes. The fit is the small
    recipe's, the run ours at the paper's budget: a lower run than fit says that recipe learns more
    per pass than the small recipe's trend foretold, a higher one less. In words, per encoder."""
    last = max(curve["scored"], key=lambda p: p["mlp_passes"])
    x = last["mlp_passes"]
    parts = []
    for name, label in (("best_median", "best-decoder median"), ("best_cell", "best cell (mean)")):
        fit = [scaling_law.at(t, x) for t in scaling_law.trend(scaling, name)]
        run = scaling_law.view(last, name)
        below = sum(r < f for r, f in zip(run, fit))
        parts.append(f"{label} {slash(run)} % against the fit's {slash(fit)} % (below it on {below} of 4 encoders)")
    return (f"Against the scaling study's prediction (the small recipe's power law, evaluated at this run's "
            f"{x / 1e6:.2f} M passes, {x / max(r['mlp_passes'] for r in scaling['runs']):.1f}x its largest budget; the run "
            f"scored at step {last['steps']:,} on the same {scaling['eval_mlps']} test MLPs per encoder), E1 / E2 / E3 / E4: "
            + "; ".join(parts) + ". The fit is another recipe's, so this says whether the run's recipe learns more "
            "(below) or less (above) per MLP pass than the small recipe's trend foretold, not whether compute alone "
            "closes the gap.")


def paper_budget_expectations(table1: dict) -> str:
    """The run's expectation, written before its numbers (:func:`swao.book.findings.budget_expectations`),
    checked part by part on the Table 1 block of its final weights; until then, a line saying so."""
    if table1["steps"] < table1["total_steps"]:
        return (f"*The expectation is checked on the final weights; these are of step {table1['steps']:,} of "
                f"{table1['total_steps']:,}.*")
    parts = budget_expectations(table1)
    lines = [f"**The expectation, checked on the final weights ({table1['eval_mlps']:,} test MLPs per encoder): "
             f"{sum(p['held'] for p in parts)} of its {len(parts)} parts held.**", ""]
    lines += [f"- {p['expected']}: **{'held' if p['held'] else 'not held'}** ({p['ours']})" for p in parts]
    return "\n".join(lines)


def recipe_pilot_table(authors: dict, ours: dict) -> Table:
    """The authors' recipe's pilot (:func:`swao.book.findings.recipe_pilot`): its run's first
    validations against our recipe's at the same MLP passes, on the same validation MLPs, with the
    pilot's rule and expectation (written before the run) read off them."""
    pilot = recipe_pilot(authors, ours)
    rows = [[f"{r['mlp_passes']:,}", f"{r['updates'][0]:,} / {r['updates'][1]:,}", slash(r["authors"]), slash(r["ours"]),
             " / ".join(f"{d:+.1f}" for d in r["difference"])] for r in pilot["rows"]]
    if not pilot["done"]:
        outcome = "The pilot is not over: it ends at 512,000 passes."
    else:
        outcome = (f"At 512,000 passes the authors' recipe is lower on {sum(pilot['ahead'])} of 4 encoders: the expectation "
                   f"(lower on at least 3) {'held' if pilot['expected'] else 'did not hold'}. The stop rule (higher at 512,000 "
                   f"than at 256,000 passes on every encoder) {'stopped the run' if pilot['stops'] else 'did not stop the run'}.")
    note = ("Best-decoder median MPE (%) on the same 2,048 validation MLPs (512 per encoder), E1 / E2 / E3 / E4; difference: "
            "the authors' minus ours (negative: the authors' recipe lower). At equal passes the authors' recipe has made 32 "
            "times more updates, which favours it early: the pilot is no verdict (`results/paper-budget-authors/RULE.md`). "
            + outcome)
    return Table("The pilot: the authors' recipe against ours at equal MLP passes",
                 ["MLP passes", "updates (authors' / ours)", "authors'", "ours", "difference"], rows, note)


def recipe_comparison(curve: dict, authors: dict | None, ours: dict) -> str:
    """The authors' recipe against ours at the paper's budget, judged by the rule written before
    the run (:func:`swao.book.findings.recipe_verdict`) on the two runs' Table 1 blocks (``authors``,
    ``ours``) once the authors' run (``curve``, its ``curve.json``) is complete and scored; until
    then, a line saying where it stands."""
    if authors is None or authors["steps"] < authors["total_steps"] or curve["steps"] < curve["total_steps"]:
        return (f"*The comparison is judged on the final weights, at 12.8 M passes (`results/paper-budget-authors/RULE.md`); "
                f"the authors' run is at step {curve['steps']:,} of {curve['total_steps']:,} "
                f"({curve['mlp_passes'] / 1e6:.2f} M passes).*")
    v = recipe_verdict(authors, ours)
    return (f"**The verdict, by the rule written before the run: {v['text']}.** Best-decoder medians on "
            f"{authors['eval_mlps']:,} test MLPs per encoder, E1 / E2 / E3 / E4: the authors' recipe {slash(authors['best_median'])} %, "
            f"ours {slash(ours['best_median'])} %, difference {' / '.join(f'{d:+.2f}' for d in v['difference'])} points "
            f"(a recipe is ahead where it is lower by at least {RECIPE_POINTS:g}); the constant floor "
            f"{slash(authors['floors']['constant']['median'])} %.")


def search_recipe_comparison(authors: dict | None, ours: dict | None) -> str:
    """The two paper-budget runs' Table 2 searches compared by the rule written before the
    authors'-recipe search had numbers (:func:`swao.book.findings.search_recipe_verdict`), with
    how often each search loses to each baseline; ``authors``, ``ours``: the two runs'
    ``table2.json`` (a line saying what is missing until both searches exist)."""
    if authors is None or ours is None or "search" in authors["pending"] or "search" in ours["pending"]:
        return ("*The two recipes' searches are compared once both have run (`results/paper-budget-authors/RULE.md`, "
                "its addendum).*")
    v = search_recipe_verdict(authors, ours)
    cell = lambda dm: f"{dm[1]:.1f} % ({dm[0]})"  # noqa: E731
    per = "; ".join(f"{DATASETS.get(ds, ds)}: {cell(a)} against {cell(o)}, {d:+.1f}"
                    for ds, a, o, d in zip(v["datasets"], v["authors"], v["ours"], v["difference"]))
    n = len(v["datasets"])
    lost = lambda run: ", ".join(f"{METHODS[m]} on {len(ds)} of {n}" for m, ds in v["losses"][run].items())  # noqa: E731
    return (f"**The two recipes' searches, by the rule written before this one had numbers: {v['text']}.** Test MPE at "
            f"the depth chosen by validation, the authors' recipe against ours, and the difference (points): {per} "
            f"(a search is ahead where it is lower by at least {SEARCH_RECIPE_POINTS:g} on {most_datasets(n)} of {n} datasets). "
            f"The search loses to each baseline: through the authors'-recipe weights to {lost('authors') or 'none run yet'}; "
            f"through ours to {lost('ours') or 'none run yet'}.")


def paper_budget_summary(curve: dict, table1: dict | None = None, scaling: dict | None = None) -> str:
    """The paper-budget CPU run so far (``studies/paper_budget.py``), in words: how far it is, on
    which CPUs and in how many hours, how its recipe differs from the authors', its last
    validation beside the floors of the same MLPs; with ``table1`` (its ``table1`` command's
    result), its snapshot scored as the paper's Table 1 beside the paper's best cells; with
    ``scaling`` (the scaling study), its last stop against that study's fit at the same passes
    (:func:`paper_budget_against_fit`)."""
    done = curve["mlp_passes"] / curve["paper_mlp_passes"]
    cpus = budget_cpus(curve)
    who = "The authors' recipe" if curve.get("recipe") == "authors" else "Our recipe"
    lines = [f"**{who} at the paper's budget, on a CPU{'' if done >= 1 else ', so far'}: {curve['mlp_passes'] / 1e6:.2f} M of "
             f"{curve['paper_mlp_passes'] / 1e6:.1f} M MLP passes ({100 * done:.0f} %), step {curve['steps']:,} of "
             f"{curve['total_steps']:,}, {curve['hours']:.1f} h of training over {len(curve['segments'])} segment(s)** "
             f"on {'; '.join(cpus) or 'a CPU'} (2 threads), by {budget_recipe(curve)}."
             + ("" if done < 1 else " The run is complete.")]
    if curve["val"]:
        v = curve["val"][-1]
        const = curve["floors"]["constant"]["median"]
        lines.append(f"Last validation (step {v['step']:,}; {curve['validation_mlps_per_encoder']} MLPs per encoder), "
                     f"E1 / E2 / E3 / E4: best-decoder median {slash(v['best_decoder_median'])} % against the constant "
                     f"floor's {slash(const)} %; near-constant best decodings "
                     + " / ".join(f"{100 * s:.0f} %" for s in v["near_constant_share"])
                     + f"; median correlation with the target {' / '.join(f'{c:+.2f}' for c in v['median_correlation'])}"
                     + (f"; dead decoders: {', '.join(v['dead_decoders'])}" if v.get("dead_decoders") else "") + ".")
    if table1:
        paper = paper_tables()["table1"]["blocks"]["min"]
        lines.append(f"Scored as the paper's Table 1 (the weights of step {table1['steps']:,}, {table1['eval_mlps']:,} test "
                     f"MLPs per encoder; the block is on the MPE page), E1 / E2 / E3 / E4: best cells "
                     f"{slash([min(col) for col in zip(*table1['table'])])} % against the paper's "
                     f"{slash([min(col) for col in zip(*paper)], 2)} %; best-decoder median {slash(table1['best_median'])} % "
                     f"against the constant floor's {slash(table1['floors']['constant']['median'])} %.")
    if scaling and curve.get("scored"):
        lines.append(paper_budget_against_fit(curve, scaling))
    if curve.get("warm_starts"):
        lines.append("Warm starts from a weights-only bf16 snapshot (fresh Adam moments, a linear warm-up): "
                     + ", ".join(f"at step {w['step']:,}" for w in curve["warm_starts"]) + ".")
    lines.append("How the recipe differs from the authors' code: " + "; ".join(curve["recipe_differences"]) + ".")
    # the run's provenance names its configuration's (the paper's) sizes: say what has been trained
    lines.append(provenance_note({**curve["provenance"], "scale": "paper-budget",
                                  "sizes": f"the paper's network and sizes, trained {curve['mlp_passes'] / 1e6:.2f} M of its "
                                           f"{curve['paper_mlp_passes'] / 1e6:.1f} M MLP passes{'' if done >= 1 else ' so far'} (step {curve['steps']:,} of "
                                           f"{curve['total_steps']:,}), with the recipe differences above"}))
    return "\n\n".join(lines)
