"""The paper's tables as data, tables set beside ours, and the on-disk result cache."""
import json

import pytest

from swao.book import cache
from swao.training.config import get_config
from swao.render.tables import paper_tables, table1, table2, table3


def test_paper_tables_transcribed():
    t = paper_tables()
    assert t["table1"]["blocks"]["min"][0][0] == 5.84  # D1, E1
    assert t["table1"]["blocks"]["p=1"][3][3] == 38.2
    assert t["table2"]["mpe"]["leaky_relu"][1][0] == 0.19 and t["table2"]["nonzeros"]["sigmoid"][3][2] == 57
    assert t["table3"]["blocks"]["linear"][0][3] == 81.22
    for block in list(t["table1"]["blocks"].values()) + list(t["table3"]["blocks"].values()):
        assert len(block) == 4 and all(len(r) == 4 for r in block)


def test_tables_show_ours_paper_and_provenance():
    ours = [[float(10 * j + i) for i in range(4)] for j in range(4)]
    prov = {"scale": "smoke", "hardware": "CPU (test)", "swao": "0", "commit": "abc", "date": "today"}
    floors = {"constant": {"mean": [50.0, 30.0, 20.0, 10.0]}, "linear": {"mean": [21.0, 22.0, 23.0, 24.0]}}
    (t,) = table1({"min": ours}, prov, floors)
    md = t.to_markdown()
    assert t.header == ["decoder", "ours E1", "ours E2", "ours E3", "ours E4", "paper E1", "paper E2", "paper E3", "paper E4"]
    # D1 row: ours 0, 1, 2, 3 (each the lowest of its column: bold), then the paper's D1 row (5.84 is its best for E1)
    assert t.rows[0] == ["D1", "**0.0**", "**1.0**", "**2.0**", "**3.0**", "**5.84**", "38.30", "30.40", "29.70"]
    assert t.rows[2][6] == "**23.70**"  # the paper's D3 is its best for E2
    assert t.rows[4] == ["*floor: oracle constant*", "*50.0*", "*30.0*", "*20.0*", "*10.0*", "–", "–", "–", "–"]
    assert t.rows[-1] == ["best decoder", "D1", "D1", "D1", "D1", "D1", "D3", "D3", "D3"]
    assert "**smoke scale** on CPU (test)" in md
    assert repr(t) == md  # plain output carries the same digits (nbval compares text/plain)
    (t3,) = table3({"linear": ours}, prov)
    assert "| 81.22 |" in t3.to_markdown()  # the paper's linear-based D1 / E4 cell
    cells = {ds: {d: {"mpe": 1.0 + k, "nonzeros": 5 + k} for d in ("D1", "D2", "D3", "D4")}
             for k, ds in enumerate(("2hl", "3hl", "4hl"))}
    md2 = table2({"types": {"sigmoid": {"search": cells}}}, prov).to_markdown()
    # ours and the paper's in separate columns, each dataset's pair side by side
    assert "| ours 2 HL (14) | paper 2 HL (14) | ours 3 HL (35) | paper 3 HL (35) | ours 4 HL (48) | paper 4 HL (48) |" in md2
    assert "| 1.00 (5) | 9.65 (11) |" in md2


def test_cache_computes_once_and_keys_by_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))
    calls = []

    def compute(folder):
        calls.append(folder)
        (folder / "weights.bin").write_bytes(b"x")
        return {"value": len(calls)}

    a = cache.cached("demo", compute, config=get_config("smoke"))
    b = cache.cached("demo", compute, config=get_config("smoke"))
    c = cache.cached("demo", compute, config=get_config("smoke", seed=1))
    assert a == b == {"value": 1} and c == {"value": 2} and len(calls) == 2
    assert cache.cached("demo", compute, recompute=True, config=get_config("smoke")) == {"value": 3}
    assert not list(tmp_path.rglob("*.tmp"))
    with pytest.raises(ValueError, match="recompute .*retrain.* must be True or False"):
        cache.cached("demo", compute, recompute="yes", config=get_config("smoke"))


def test_cache_refuses_broken_json(tmp_path):
    p = tmp_path / "result.json"
    p.write_text('{"a": 1')
    with pytest.raises(ValueError, match="not valid JSON"):
        cache.read_json(p)


def test_provenance_names_hardware():
    from swao.book.provenance import provenance

    prov = provenance("cpu", scale="smoke")
    assert prov["scale"] == "smoke" and prov["hardware"].startswith("CPU (") and prov["date"]
    json.dumps(prov)


def test_with_computing_off_a_missing_result_stops_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))
    config = get_config("smoke")
    calls = []
    compute = lambda folder: calls.append(folder) or {"x": 1}  # noqa: E731
    monkeypatch.setenv(cache.NO_COMPUTE, "1")
    with pytest.raises(cache.MissingResult, match=r"the search result .*not in the cache.*swao reproduce --scale smoke"):
        cache.cached("search", compute, config=config)
    assert calls == [] and not any(tmp_path.iterdir()), "nothing computed, nothing written"
    monkeypatch.setenv(cache.NO_COMPUTE, "0")  # "0" (or unset) allows computing
    assert cache.cached("search", compute, config=config) == {"x": 1} and len(calls) == 1
    monkeypatch.setenv(cache.NO_COMPUTE, "1")  # a cached result is read with computing off
    assert cache.cached("search", compute, config=config) == {"x": 1} and len(calls) == 1
    with pytest.raises(cache.MissingResult, match=r"\(name=sigmoid-min\)"):
        cache.cached("mpe_table", compute, config=config, name="sigmoid-min")


def test_one_declaration_of_what_depends_on_what(tmp_path, monkeypatch):
    from swao.book import experiments as ex
    from swao.book import plan as pl
    from swao.book import reproduce as rp

    assert rp.STAGES == tuple(ex.STAGES)
    assert ex.stages_for(["05_sparse_search"]) == ("search",)
    assert ex.stages_for(["06_beyond_the_paper", "04_mpe_evaluation"]) == ("tables", "figure2", "search", "embedding", "mask_grad")
    assert ex.stages_for(["00_framework", "01_representation", "02_generation"]) == ()
    smoke = get_config("smoke")
    assert ex.autoencoders_for(["search"], smoke) == sorted((n, "none") for n in ex.MIN_LOSS.values())
    assert ("sigmoid-min", "straight_through") in ex.autoencoders_for(["mask_grad"])
    assert len(ex.autoencoders_for(list(ex.STAGES), smoke)) == 6
    # a scale whose own masks are straight-through: the mask_grad study's second autoencoder is the book's
    st = smoke.replace(mask_grad="straight_through")
    assert ex.autoencoders_for(["search"], st) == sorted((n, "straight_through") for n in ex.MIN_LOSS.values())
    assert len(ex.autoencoders_for(list(ex.STAGES), st)) == 6 and ("sigmoid-min", "none") in ex.autoencoders_for(list(ex.STAGES), st)
    with pytest.raises(ValueError, match="stages must be one or more of"):
        ex.check_stages(["tables", "nope"])
    monkeypatch.setenv("SWAO_CACHE", str(tmp_path))  # nothing cached: reproduce would train all the stages need
    assert pl.autoencoders_needed(smoke, ["figure2"]) == ex.autoencoders_for(["figure2"], smoke)


def test_the_plan_times_the_scales_network(monkeypatch):
    """``swao reproduce --plan`` measures the network of the scale's width, not the paper's."""
    from swao.book import plan as pl

    built = []

    class Stop(Exception):
        pass

    def network(config, mask_grad=None):
        built.append(config)
        raise Stop

    monkeypatch.setattr(pl, "autoencoders_needed", lambda config, stages: [])  # nothing to train
    monkeypatch.setattr(pl, "network", network)
    with pytest.raises(Stop):
        pl.plan(get_config("small"), "cpu", stages=("tables",), calibration_steps=1)
    assert built == [get_config("small")]  # the scale's network (its width), as its training builds it


def test_table_numbers_never_print_in_e_notation():
    from swao.render.tables import fmt

    assert [fmt(v) for v in (None, float("nan"), 5.8368, 1890.4, 9999.0, 5.09e21, -3e5)] == \
        ["–", "nan", "5.84", "1,890", "9,999", "> 10,000", "< -10,000"]
    assert fmt(12.345, 1) == "12.3"


def test_a_page_shows_its_provenance_once_and_its_tables_name_only_their_scale(monkeypatch):
    from swao.render import tables

    monkeypatch.setattr(tables, "_PAGE", {})
    prov = {"scale": "small", "hardware": "CPU (x)", "swao": "0.1.0", "commit": "abc", "torch": "2.13.0",
            "date": "2026-12-03 10:00 UTC", "sizes": "some sizes"}
    full = tables.provenance_note(prov)
    assert "Sizes: some sizes." in full and "torch 2.13.0" in full
    top = tables.page_provenance(prov)
    assert top.startswith("**Provenance of this page's results.**") and full in top
    later = {**prov, "date": "2026-12-03 11:00 UTC"}  # computed later by the same code on the same machine
    assert tables.provenance_note(later) == "Ours: **small scale** (provenance at the top of the page)."
    other = {**prov, "sizes": "other sizes"}  # another study's results on the same page
    assert tables.provenance_note(other).endswith("Sizes: other sizes.")
    assert tables.provenance_note({**other, "date": "later"}) == "Ours: **small scale** (provenance as above)."
    assert tables.provenance_note(later) == "Ours: **small scale** (provenance at the top of the page)."
    assert tables.provenance_note(other).endswith("Sizes: other sizes."), "after another note: in full again"
    tables.page_provenance(prov)  # a new page forgets the note before it
    assert tables.provenance_note({**prov, "sizes": "third"}).endswith("Sizes: third.")
    study = {**prov, "scale": None, "sizes": "a study's"}  # a committed study made at no scale of the book
    assert tables.provenance_note(study).startswith("Ours: on CPU (x)")
    assert tables.provenance_note({**study, "date": "later"}) == "Ours: provenance as above."


def test_a_mean_cell_made_absurd_by_a_few_mlps_says_so_and_how_many():
    from swao.render import tables

    ours = [[50.0, 1500.0, 20.0, 3.0], [60.0, 2.5e21, 30.0, 4.0], [70.0, 1000.0, 10.0, 5.0], [80.0, 999.0, 40.0, 6.0]]
    absurd = [[0, 3, 0, 0], [0, 7, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    t = tables.mpe_block(ours, None, "T", None, absurd=absurd)
    col = [row[2] for row in t.rows[:4]]  # encoder E2, decoders D1..D4
    assert col == ["> 1,000 (3)", "> 1,000 (7)", "> 1,000 (1)", "**999.0**"]
    assert "'> 1,000 (k)'" in t.note and "e+" not in t.to_markdown()
    plain = tables.mpe_block(ours, None, "T", None)  # without the counts: the book's number format
    assert [row[2] for row in plain.rows[:4]] == ["1,500", "> 10,000", "1,000", "**999.0**"] and "'> 1,000" not in plain.note


def test_the_training_table_shows_the_constant_floor_and_marks_what_beats_it():
    """Page 03: a learning curve above the constant floor must not read as learning (issue: the
    small book's sigmoid/min sat above the constant on every encoder, and nothing said so)."""
    from swao.render.reports import training_table

    def run(median, flat):
        return {"history": {"step": [10], "loss": [1.0], "val": [{"step": 10, "best_decoder_median": median,
                                                                   "near_constant_share": [flat] * 4}]}}

    floor = {"constant": {"median": [50.0, 25.0, 7.0, 2.0]}}
    trained = {"sigmoid-min": run([40.0, 30.0, 8.0, 1.0], 0.1), "linear-min": run([50.0, 50.0, 50.0, 50.0], 1.0)}
    table = training_table(trained, {"sigmoid-min": floor, "linear-min": {"constant": {"median": [49.5, 50.0, 50.0, 50.0]}}})
    rows = {r[0]: r for r in table.rows}
    assert rows["sigmoid-min"][4:8] == ["40.0 ✓", "30.0", "8.0", "1.0 ✓"]
    assert "linear-min (constant output)" in rows and "✓" not in "".join(rows["linear-min (constant output)"])
    assert rows["constant (oracle), sigmoid MLPs"][4:8] == ["50.0", "25.0", "7.0", "2.0"]
    assert "constant (oracle), linear MLPs" in rows and "beats the constant in 2 of 8 cells" in table.caption
    plain = training_table(trained)
    assert len(plain.rows) == 2 and "constant" not in plain.caption


def test_the_baselines_note_weighs_error_with_non_zeros():
    """Page 09 once called the search "best" on a dataset where it was most accurate with 44
    non-zeros against L0 gates' 8: "best" now carries the non-zero counts."""
    from swao.render.tables import baselines_table

    def cell(mpe, nz):
        return {"d1": {"mpe": mpe, "nonzeros": nz, "val_loss": 0.1}}

    data = {"a": {"search": cell(6.02, 44), "direct": cell(6.44, 29), "pruned": cell(9.0, 44), "l0": cell(7.14, 8)},
            "b": {"search": cell(5.0, 10), "direct": cell(6.0, 12), "pruned": cell(7.0, 10), "l0": cell(8.0, 30)},
            "c": {"search": cell(9.0, 20), "direct": cell(5.0, 10), "pruned": cell(7.0, 20), "l0": cell(8.0, 30)}}
    results = {"types": {"sigmoid": {m: {ds: data[ds][m] for ds in data} for m in ("search", "direct", "pruned", "l0")}}}
    note = baselines_table(results, None).note
    assert "lowest test MPE on 2 of 3 datasets" in note
    assert "no more non-zeros than any baseline on 1" in note and "no more non-zeros on 1 " in note
