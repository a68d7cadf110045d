"""The findings page's rules (swao.book.findings) on made-up results whose verdicts are known."""
import pytest

from swao.book import findings
from swao.method.options import ENCODER_INPUTS


def mpe_result(best_median, constant, d3_best=True):
    table = [[50.0] * 4, [40.0] * 4, [10.0 if d3_best else 60.0] * 4, [30.0] * 4]  # decoders are rows
    return {"best_median": best_median, "table": table, "floors": {"constant": {"median": constant}}}


def evidence(ae_beats: bool, search_mpe: float, nonzeros: int, rho_sign: int = -1):
    const = [50.0, 25.0, 7.0, 2.0]
    good = [c * (0.5 if ae_beats else 1.5) for c in const]
    tables = {n: mpe_result(good if n == "sigmoid-min" else [c * 1.2 for c in const], const)
              for n in ("sigmoid-min", "sigmoid-p0.5", "sigmoid-p1")}
    tables.update({n: mpe_result(good, const) for n in ("leaky_relu-min", "linear-min")})
    types, floors = {}, {}
    for act in ("sigmoid", "leaky_relu", "linear"):
        cells = {}
        for ds in ("2hl", "3hl", "4hl"):
            # D1..D4: MPE falls with non-zeros (rho_sign -1) or rises; D2 has the best validation loss
            cells[ds] = {f"D{j + 1}": {"mpe": search_mpe + rho_sign * 5.0 * j, "nonzeros": nonzeros + 3 * j,
                                       "val_loss": 1.0 if j == 1 else 2.0, "mpe_all": [search_mpe + rho_sign * 5.0 * j],
                                       "nonzeros_all": [nonzeros + 3 * j]} for j in range(4)}
        types[act] = {"search": cells, "direct": {ds: {"D1": {"mpe": 30.0, "nonzeros": 10, "val_loss": 1.0}} for ds in cells}}
        floors[act] = {ds: {"constant": {"mpe": 40.0, "parameters": 1}, "linear": {"mpe": 35.0, "parameters": 4}} for ds in cells}
    emb = {"types": {a: {"trained": {"spearman": 0.6 if ae_beats else 0.1}, "untrained": {"spearman": 0.1}} for a in types}}
    return {"tables": tables, "search": {"types": types}, "embedding": emb, "dataset_floors": floors}


def marks(ev):
    return [c["mark"] for c in findings.check(ev)]


def test_a_method_that_beats_the_floors_holds_every_claim():
    ev = evidence(ae_beats=True, search_mpe=20.0, nonzeros=8)  # D2 (chosen): 15 % < 0.98 x 35 %, 11 non-zeros
    assert marks(ev) == [findings.HELD] * len(findings.CLAIMS)


def test_collapsed_autoencoders_make_comparisons_untestable_and_the_rest_fail():
    ev = evidence(ae_beats=False, search_mpe=50.0, nonzeros=8, rho_sign=1)
    m = marks(ev)
    assert m[0] == findings.NOT_HELD and m[1] == m[2] == findings.NOT_TESTABLE
    assert m[3:] == [findings.NOT_HELD] * 5


def test_compact_but_useless_mlps_do_not_hold_the_compactness_claim():
    ev = evidence(ae_beats=True, search_mpe=40.0, nonzeros=8)  # 11 non-zeros, but 35 % is not 2 % below the linear fit's 35 %
    by_claim = dict(zip((c.text for c in findings.CLAIMS), marks(ev)))
    assert by_claim["The searched MLPs have fewer non-zeros than the input MLP"] == findings.NOT_HELD


def test_a_tie_at_a_floor_is_not_a_win():
    assert findings.beats_constant({"best_median": [49.9, 24.0], "floors": {"constant": {"median": [50.0, 25.0]}}}) == [False, True]


def test_the_papers_own_numbers_come_from_its_tables():
    papers = {c.source: c.paper() for c in findings.CLAIMS}
    assert papers["Table 1"] == "best cell 5.84 / 23.70 / 24.10 / 24.40 % (E1-E4)"
    assert findings.spearman([1, 2, 3, 4], [8, 6, 6, 1]) == pytest.approx(-0.9486832980505138)


def test_the_summary_says_what_each_scale_cost_and_which_options_it_ran():
    from swao.render import reports
    from swao.training.config import get_config

    small = get_config("small")
    ev = evidence(ae_beats=False, search_mpe=60.0, nonzeros=30)
    ae = {n: {"train_seconds": 120.0} for n in ev["tables"]}
    used = findings.compute_used(small, ae, {"seconds": 300.0, "provenance": {"hardware": "CPU (test, 2 threads)"}})
    assert used["train_passes"] == small.train_mlps * small.epochs and used["paper_passes"] == 12_800_000
    text = reports.findings_summary({"small": findings.check(ev)}, {"small": used}, small)
    share = f"{100 * small.train_mlps * small.epochs / 12_800_000:.2g} %"
    assert (f"Made with 10 minutes of autoencoder training (5 autoencoders, each on {share} of the paper's 12.8 M MLP "
            "passes at 0.5 x the paper's width; the paper: about 48 h per autoencoder on an NVIDIA RTX A5000 GPU) and 5 minutes "
            "of search and baselines, on CPU (test, 2 threads).") in text
    assert f"runs the paper's method with {len(small.options())} options beyond the paper" in text
    assert all(f"`{k}={v}`" in text for k, v in small.options().items())
    # the paper scale turns none on, and the summary says nothing of options there
    assert "options beyond" not in reports.findings_summary({"paper": findings.check(ev)}, None, get_config("paper"))


def test_collapsed_mlps_are_marked_and_their_counts_do_not_support_the_non_zero_claims():
    from swao.render import tables

    ev = evidence(ae_beats=True, search_mpe=20.0, nonzeros=8)
    held = dict(zip((c.text for c in findings.CLAIMS), marks(ev)))
    for entry in ev["search"]["types"].values():  # every searched MLP now computes a near-constant
        for cells in entry["search"].values():
            for c in cells.values():
                c.update(collapsed=True, collapsed_all=[True] * len(c["mpe_all"]))
    now = dict(zip((c.text for c in findings.CLAIMS), marks(ev)))
    fewer = next(c.text for c in findings.CLAIMS if "fewer non-zeros" in c.text)
    assert held[fewer] == findings.HELD and now[fewer] == findings.NOT_HELD
    tradeoff = [k for k, v in now.items() if v == findings.NOT_TESTABLE]
    assert len(tradeoff) == 1 and held[tradeoff[0]] == findings.HELD  # no live MLP left to rank
    prov = {"scale": "smoke"}
    t2 = tables.table2(ev["search"], prov)
    ours = [k for k, h in enumerate(t2.header) if h.startswith("ours")]
    assert all(row[k].endswith(tables.COLLAPSED) for row in t2.rows for k in ours)
    assert "36 of 36 cells" in t2.note
    from swao.ours.table2 import tradeoff_points
    tt = tables.tradeoff_table(tradeoff_points(ev["search"]), prov)
    assert all(row[1] == row[2] and row[3] == "–" for row in tt.rows)


def test_the_paper_budget_run_is_checked_on_the_claims_its_table_1_block_can_test_and_not_run_on_the_rest():
    from swao.render import reports

    const = [50.0, 25.0, 7.0, 2.0]
    table1 = {**mpe_result([c * 0.5 for c in const], const), "autoencoder": "sigmoid-min", "train_hours": 2.5,
              "mlp_passes": 3_200_000, "paper_mlp_passes": 12_800_000, "provenance": {"sizes": "step 3,125 of 12,500"}}
    checks = findings.check(findings.budget_evidence(table1))
    by_claim = {c["claim"]: c["mark"] for c in checks}
    assert by_claim["The min-loss autoencoder decodes MLPs that compute like their inputs"] == findings.HELD
    assert by_claim["For sigmoid MLPs, the 3-hidden-layer decoder D3 is typically best"] == findings.HELD
    assert [c["mark"] for c in checks].count(findings.NOT_RUN) == len(findings.CLAIMS) - 2
    assert all(c["ours"] == "–" for c in checks if c["mark"] == findings.NOT_RUN)
    # beside a scale that ran everything: "not run" is counted only where it occurs
    small = findings.check(evidence(ae_beats=False, search_mpe=60.0, nonzeros=30))
    curve = {"segments": [{"cpu": "CPU A"}, {"cpu": "CPU B"}, {"cpu": "CPU A"}], "total_steps": 12_500,
             "config": {"width": 1.0, "batch_size": 1024, "lr": 1e-3}}
    used = findings.budget_used(table1, curve)
    assert used["hardware"] == "CPU A; CPU B" and used["train_passes"] == 3_200_000 and used["search_seconds"] == 0
    authors_curve = {**curve, "recipe": "authors", "total_steps": 400_000, "config": {"width": 1.0, "batch_size": 32, "lr": 1e-4}}
    both = {"small": small, "paper-budget": checks, "paper-budget-authors": checks}
    text = reports.findings_summary(both, {"paper-budget": used, "paper-budget-authors": findings.budget_used(table1, authors_curve)})
    assert "At small scale, of the paper's 8 claims: 1 held, 5 not held, 2 not testable at this scale.**" in text
    assert "At the paper's budget by our recipe, of the paper's 8 claims: 2 held, 0 not held, 0 not testable at this scale, 6 not run at this scale.**" in text
    assert "At the paper's budget by the authors' recipe, of the paper's 8 claims: 2 held," in text
    assert "(1 autoencoder, by the authors' recipe, batch 32 at lr 0.0001 (400,000 updates; 3 FC layers," in text
    assert ("- The min loss trains the best autoencoder (better than the p-norm losses) (Section 4.1, Table 1): **not testable** "
            "(small scale); **not run** (the paper's budget by our recipe); **not run** (the paper's budget by the authors' recipe)") in text
    assert ("Made with 2.5 hours of autoencoder training (1 autoencoder, by our recipe, batch 1,024 at lr 0.001 (12,500 updates; "
            "the paper's 4 FC layers, no norm), on 25 % of the paper's 12.8 M MLP passes; the paper: "
            "about 48 h per autoencoder on an NVIDIA RTX A5000 GPU) (no search), on CPU A; CPU B.") in text
    table = reports.findings_table({"small": small, "paper-budget": checks})
    assert table.header == ["the paper's claim", "the paper's number", "ours, small scale", "ours, the paper's budget by our recipe"]
    assert all(row[-1].startswith(f"**{reports.FINDING_MARKS[c['mark']]}**") for row, c in zip(table.rows, checks))
    assert all("evidence: [" in row[0] for row in table.rows)
    assert "the paper's budget by our recipe: 2 held" in table.note and "small scale: 1 held, 5 not held, 2 not testable at this scale;" in table.note
    assert reports.compute_table({"paper-budget-authors": findings.budget_used(table1, authors_curve)}).rows[0][0] == \
        "the paper's budget by the authors' recipe"


def test_a_search_of_one_mlp_type_needs_the_same_share_of_its_three_datasets():
    assert (findings.most_datasets(9), findings.most_datasets(3)) == (findings.MOST_DATASETS, 2)
    ev = evidence(ae_beats=True, search_mpe=20.0, nonzeros=5)  # beats both floors (40 / 35 %) everywhere
    one = {"tables": {"sigmoid-min": ev["tables"]["sigmoid-min"]}, "embedding": None,
           "search": {"types": {"sigmoid": ev["search"]["types"]["sigmoid"]}}, "dataset_floors": {"sigmoid": ev["dataset_floors"]["sigmoid"]}}
    low = "The search finds MLPs with low test MPE"
    mark = lambda e: {c["claim"]: c["mark"] for c in findings.check(e)}[low]  # noqa: E731
    assert mark(one) == findings.HELD
    cells = one["search"]["types"]["sigmoid"]["search"]
    cells["2hl"]["D2"]["mpe"] = 50.0  # the chosen depth (D2) now loses to the floors on 1 of 3: 2 of 3 still hold
    assert mark(one) == findings.HELD
    cells["3hl"]["D2"]["mpe"] = 50.0  # 1 of 3
    assert mark(one) == findings.NOT_HELD


def symmetry_study(raw: list[list[float]], canon: list[list[float]], corr: float = 0.0):
    """A made-up symmetry study: one run per seed and input, ``raw``/``canon`` their best-decoder medians."""
    def run(inp, seed, med):
        return {"encoder_input": inp, "seed": seed, "train_seconds": 10.0, "best_median": med, "best_mean": med,
                "near_constant_share": [0.5] * 4, "median_correlation": [corr] * 4, "dead_decoders": []}
    runs = [run("as_drawn", s, m) for s, m in enumerate(raw)] + [run("canonical", s, m) for s, m in enumerate(canon)]
    return {"scale": "small", "runs": runs, "floors": {"constant": {"median": [50.0, 25.0, 7.0, 2.0]}}}


RAW = [[50.0, 30.0, 10.0, 5.0], [52.0, 31.0, 11.0, 6.0], [51.0, 29.0, 10.5, 5.5]]  # spread 2 / 2 / 1 / 1


def test_the_symmetry_rule_needs_a_fall_past_the_seed_spread_on_three_encoders():
    assert findings.ENCODER_INPUT_NAMES.keys() == set(ENCODER_INPUTS)
    within = [[m - 1.5, e2 - 1.5, e3 - 0.5, e4 - 0.5] for m, e2, e3, e4 in RAW]  # below the mean, inside the spread
    assert findings.symmetry_verdict(symmetry_study(RAW, within))["effect"] == "no measurable difference"
    past = [[m - 10, e2 - 10, e3 - 5, e4] for m, e2, e3, e4 in RAW]  # past the spread on E1-E3
    v = findings.symmetry_verdict(symmetry_study(RAW, past))
    assert v["effect"] == "helps" and v["lower"] == [True, True, True, False] and v["complete"]
    worse = [[m + 10, e2 + 10, e3 + 5, e4 + 5] for m, e2, e3, e4 in RAW]
    assert findings.symmetry_verdict(symmetry_study(RAW, worse))["effect"] == "hurts"
    assert not findings.symmetry_verdict(symmetry_study(RAW[:1], past[:1]))["complete"]


def test_learning_shape_needs_the_constant_beaten_and_the_correlation_reached():
    good = [[20.0, 10.0, 3.0, 1.0]] * 3  # every encoder beats 0.98 x the constant
    assert findings.symmetry_verdict(symmetry_study(RAW, good, corr=0.6))["learns_shape"]
    assert not findings.symmetry_verdict(symmetry_study(RAW, good, corr=0.4))["learns_shape"]  # flat decodings that fit the level
    tie = [[49.5, 24.8, 6.95, 1.99]] * 3  # within 2 % of the constant: not beaten
    assert not findings.symmetry_verdict(symmetry_study(RAW, tie, corr=0.9))["learns_shape"]


def test_our_own_claims_are_marked_from_the_study_and_not_run_without_it():
    assert [c["mark"] for c in findings.own_claims(None)] == [findings.NOT_RUN] * 2
    good = [[20.0, 10.0, 3.0, 1.0]] * 3
    assert [c["mark"] for c in findings.own_claims(symmetry_study(RAW, good, corr=0.6))] == [findings.HELD] * 2
    assert [c["mark"] for c in findings.own_claims(symmetry_study(RAW, RAW))] == [findings.NOT_HELD] * 2
    with pytest.raises(ValueError, match="encoder_input 'canonical'"):
        findings.symmetry_verdict(symmetry_study(RAW, []))


def test_a_committed_seed_study_is_checked_against_the_books_own_autoencoder():
    """Page 07 once called the study's seed 0 "the book's own" autoencoder while the two scored
    51.1 / 37.7 / 36.5 / 28.1 and 52.55 / 38.73 / 35.95 / 30.93: the page now names the commit behind
    each and says whether they are one autoencoder."""
    from swao.render import reports

    study = symmetry_study(RAW, RAW)
    study["eval_mlps"] = 200
    for r in study["runs"]:
        r["provenance"] = {"commit": "7b42e27"}
    same = {"best_median": list(RAW[0]), "eval_mlps": 200, "provenance": {"commit": "abc1234"}}
    d = findings.seed_study_drift(study, same, "small")
    assert d["comparable"] and d["agree"] and d["gap"] == 0.0
    assert "the same autoencoder" in reports.seed_study_note(study, same, "small")
    moved = {**same, "best_median": [52.55, 30.0, 10.0, 7.0]}
    d = findings.seed_study_drift(study, moved, "small")
    assert not d["agree"] and d["gap"] == pytest.approx(2.55) and d["spread"] == [2.0, 2.0, 1.0, 1.0]
    assert d["beyond_spread"] == 2  # E1 by 2.55 > 2, E4 by 2 > 1; E2 and E3 agree
    note = reports.seed_study_note(study, moved, "small")
    assert "`7b42e27`" in note and "`abc1234`" in note and "more than the seeds' spread on 2 of 4 encoders" in note
    other = findings.seed_study_drift(study, same, "smoke")
    assert not other["comparable"] and "made at small scale" in reports.seed_study_note(study, same, "smoke")


def test_the_paper_budget_expectation_is_checked_part_by_part_on_the_final_weights():
    from swao.book.paper import paper_tables
    from swao.render import reports

    paper = paper_tables()["table1"]["blocks"]["min"]
    table1 = {"best_median": [15.0, 20.0, 16.0, 14.0], "floors": {"constant": {"median": [50.0, 25.0, 7.0, 2.0]}},
              "collapse": {"near_constant_share": [0.0, 0.05, 0.7, 0.4]},
              "table": [[2.5 * v for v in row] for row in paper], "steps": 12_500, "total_steps": 12_500, "eval_mlps": 1000}
    held = [p["held"] for p in findings.budget_expectations(table1)]
    assert held == [True, True, True, True]  # E1, E2 beat the constant; E3, E4 not; 55 % together; every cell 2.5x
    worse = {**table1, "best_median": [15.0, 24.9, 6.0, 14.0], "collapse": {"near_constant_share": [0.0, 0.0, 0.5, 0.5]},
             "table": [[1.5 * v for v in row] for row in paper]}
    assert [p["held"] for p in findings.budget_expectations(worse)] == [False, False, False, False]  # 24.9 is no 2 % win
    text = reports.paper_budget_expectations(table1)
    assert "4 of its 4 parts held" in text and "E3 70 %, E4 40 %" in text
    assert "step 9,912 of 12,500" in reports.paper_budget_expectations({**table1, "steps": 9_912})  # not checked early
