"""The tables of our own studies, beside the paper's (:mod:`swao.render.tables` renders the paper's
Tables 1-3 and the baselines): the floors, the recipe and search studies, the scaling study and
its verdict, and the findings page. Each is drawn from a result, never computed here.
"""
from __future__ import annotations

from swao.method.activations import TYPE_NAMES
from swao.ours import scaling_law
from swao.render.tables import ENCODERS, Table, fmt, provenance_note


def floors_table(results: dict, prov: dict | None) -> Table:
    """Does the autoencoder beat a predictor that ignores it? Per autoencoder and encoder, the
    median over the test MLPs of each MLP's best decoder's MPE beside, on the same MLPs, the
    oracle constant's and the linear fit's (:mod:`swao.training.diagnostics`); then the share of
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
    """The autoencoder recipe study (``studies/recipe_study.py``): per recipe, its steps in the
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
    """The scaling study (``studies/training_scaling.py``, :mod:`swao.ours.scaling_law`): per encoder, the
    table's best cell at each training budget, the fitted power law's factor per 10x of compute,
    its prediction at the paper's passes beside the paper's Table 1; then each MLP's best
    decoder's median beside the constant floor."""
    runs = sorted(study["runs"], key=lambda r: r["mlp_passes"])
    cell, med = scaling_law.trend(study, "best_cell"), scaling_law.trend(study, "best_median")
    verdict = scaling_law.verdict(study)["per_encoder"]
    rows = []
    for e, enc in enumerate(ENCODERS):
        rows.append([enc, *[fmt(scaling_law.view(r, "best_cell")[e], 1) for r in runs], f"x{cell[e]['per_decade']:.2f}",
                     fmt(cell[e]["predicted"], 1), fmt(cell[e]["paper"], 2), verdict[e],
                     " / ".join(fmt(scaling_law.view(r, "best_median")[e], 1) for r in runs), f"x{med[e]['per_decade']:.2f}",
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
            f"'reaches': the fit at 12.8 M is within {scaling_law.REACHES:g}x of the paper; 'far': over {scaling_law.FAR:g}x, or "
            f"no fall with compute. Commands: {commands}. " + provenance_note(prov))
    return Table("Scaling: Table 1's best cell against training compute, and its trend to the paper's 12.8 M passes",
                 header, rows, note)


def scaling_verdict(study: dict) -> str:
    """One paragraph of what the scaling study supports, written from its numbers."""
    v, cell = scaling_law.verdict(study), scaling_law.trend(study, "best_cell")
    med = scaling_law.trend(study, "best_median")
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


FINDING_MARKS = {"held": "✓ held", "not held": "✗ not held", "not testable at this scale": "– not testable at this scale"}


def findings_table(checks: dict[str, list[dict]]) -> Table:
    """The findings page (:mod:`swao.book.findings`): per claim of the paper, the paper's number, then
    ours and the mark at each scale present (``checks``: scale -> :func:`swao.book.findings.check`),
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
        lines += [f"**At {sc} scale, of the paper's {len(cs)} claims: {counts}.**", ""]
    for k, c in enumerate(next(iter(checks.values()))):
        marks = "; ".join(f"**{checks[sc][k]['mark'].replace('this scale', 'the ' + sc + ' scale')}**"
                          + ("" if len(checks) == 1 or "this scale" in checks[sc][k]["mark"] else f" ({sc})") for sc in checks)
        lines.append(f"- {c['claim']} ({c['source']}): {marks}")
    return "\n".join(lines)


def compute_table(used: dict[str, dict]) -> Table:
    """The compute behind each scale's findings (:func:`swao.book.findings.compute_used`)."""
    rows = []
    for sc, u in used.items():
        train = sum(u["train_seconds"].values())
        rows.append([sc, u["hardware"], f"{len(u['train_seconds'])} autoencoders, {train / 60:.1f} min",
                     f"{u['search_seconds'] / 60:.1f} min", u["sizes"] or ""])
    return Table("The compute used", ["scale", "hardware", "training", "search and baselines", "sizes"], rows)


__all__ = ["floors_table", "recipe_table", "search_study_table", "scaling_table", "scaling_verdict", "FINDING_MARKS",
           "findings_table", "findings_summary", "compute_table"]


def paper_budget_summary(curve: dict) -> str:
    """The paper-budget CPU run so far (``studies/paper_budget.py``), in words: how far it is, on
    which CPUs and in how many hours, how its recipe differs from the authors', and its last
    validation beside the floors of the same MLPs."""
    done = curve["mlp_passes"] / curve["paper_mlp_passes"]
    cpus = sorted({s["cpu"] for s in curve["segments"]})
    lines = [f"**The paper's recipe on a CPU, so far: {curve['mlp_passes'] / 1e6:.2f} M of "
             f"{curve['paper_mlp_passes'] / 1e6:.1f} M MLP passes ({100 * done:.0f} %), step {curve['steps']:,} of "
             f"{curve['total_steps']:,}, {curve['hours']:.1f} h of training over {len(curve['segments'])} segment(s)** "
             f"on {'; '.join(cpus)} (2 threads)."
             + ("" if done < 1 else " The run is complete.")]
    if curve["val"]:
        v = curve["val"][-1]
        const = curve["floors"]["constant"]["median"]
        lines.append(f"Last validation (step {v['step']:,}; {curve['validation_mlps_per_encoder']} MLPs per encoder), "
                     f"E1 / E2 / E3 / E4: best-decoder median {_slash(v['best_decoder_median'])} % against the constant "
                     f"floor's {_slash(const)} %; near-constant best decodings "
                     + " / ".join(f"{100 * s:.0f} %" for s in v["near_constant_share"])
                     + f"; median correlation with the target {' / '.join(f'{c:+.2f}' for c in v['median_correlation'])}"
                     + (f"; dead decoders: {', '.join(v['dead_decoders'])}" if v.get("dead_decoders") else "") + ".")
    if curve.get("warm_starts"):
        lines.append("Warm starts from a weights-only bf16 snapshot (fresh Adam moments, a linear warm-up): "
                     + ", ".join(f"at step {w['step']:,}" for w in curve["warm_starts"]) + ".")
    lines.append("How the recipe differs from the authors' code: " + "; ".join(curve["recipe_differences"]) + ".")
    lines.append(provenance_note(curve["provenance"]))
    return "\n\n".join(lines)
