"""The studies' scripts (studies/) run end to end on tiny sizes and write what the book reads."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from swao.training.config import get_config

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_memorisation_writes_a_curve_per_run_and_skips_the_runs_it_has(tmp_path):
    out = tmp_path / "memo.json"
    args = ("studies/memorisation.py", "--lrs", "1e-3,3e-3", "--mlps", "8", "--steps", "4", "--eval-every", "2",
            "--width", "0.25", "--threads", "1", "--out", str(out))
    r = run(*args)
    assert r.returncode == 0, r.stderr
    memo = json.loads(out.read_text())
    assert [(x["lr"], x["mask_grad"]) for x in memo["runs"]] == [(1e-3, "none"), (3e-3, "none")]
    assert [p["step"] for p in memo["runs"][0]["curve"]] == [0, 2, 4]
    assert memo["floors"]["constant"]["median"] > memo["floors"]["linear"]["median"] > 0
    again = run(*args)
    assert again.returncode == 0 and "lr 0.001" not in again.stdout  # kept, not rerun
    from swao.render import learning_plots as plots

    fig = plots.plot_memorisation(memo)
    assert len([line for line in fig.axes[0].lines if line.get_linestyle() == "-"]) == 2
    plots.plt.close("all")
    bad = run("studies/memorisation.py", "--mask-grads", "soft", "--out", str(tmp_path / "x.json"))
    assert bad.returncode != 0 and "--mask-grads must be from" in bad.stderr


def test_the_recipe_study_trains_for_given_mlp_passes_and_seed_and_says_so(tmp_path):
    out = tmp_path / "recipe.json"
    args = ("studies/recipe_study.py", "--recipes", "b64-copy-w0.5", "--mlp-passes", "384", "--seed", "1",
            "--eval-mlps", "4", "--threads", "1", "--out", str(out))
    r = run(*args)
    assert r.returncode == 0, r.stderr
    study = json.loads(out.read_text())
    (one,) = study["recipes"]
    assert (study["mlp_passes"], study["budget_s"], one["steps"], one["mlp_passes"], one["seed"]) == (384, None, 6, 384, 1)
    from swao.render import reports

    table = reports.recipe_table(study)
    assert table.rows[0][0] == "b64-copy-w0.5 (seed 1)" and "384 MLP passes per recipe" in table.note
    assert "Added later" not in table.note  # made at one commit, on one CPU
    later = {**one, "seed": 2, "provenance": {**one["provenance"], "commit": "abc1234", "date": "2027-01-02 03:04 UTC"}}
    table = reports.recipe_table({**study, "recipes": [one, later]})
    assert table.note.endswith(f" Added later at abc1234, on {one['provenance']['hardware']}, from 2027-01-02 03:04 UTC: "
                               "b64-copy-w0.5 (seed 2).")
    other = run("studies/recipe_study.py", "--recipes", "b64-copy-w0.5", "--mlp-passes", "768", "--eval-mlps", "4",
                "--out", str(out), "--append")
    assert other.returncode != 0 and "--mlp-passes 384" in other.stderr  # one length per study file
    bad = run("studies/recipe_study.py", "--recipes", "b64-copy-w0.5", "--mlp-passes", "0", "--out", str(tmp_path / "x.json"))
    assert bad.returncode != 0 and "--mlp-passes >= 1" in bad.stderr


def test_paper_budget_refuses_bad_input(tmp_path):
    r = run("studies/paper_budget.py", "run", "--state", str(tmp_path), "--minutes", "0")
    assert r.returncode != 0 and "--minutes must be > 0" in r.stderr
    from swao.method.model import MultiScaleAutoencoder
    from swao.training.checkpoint import save_snapshot

    partial = tmp_path / "snapshot.safetensors"  # the weights of a run stopped midway: no hour-long Table 2 on them
    save_snapshot(partial, MultiScaleAutoencoder(width=0.25), {"steps": 3, "total_steps": 12_500, "config": {"width": 0.25}})
    r = run("studies/paper_budget.py", "table2", "--snapshot", str(partial))
    assert r.returncode != 0 and "step 3 of 12,500" in r.stderr and "on the final weights" in r.stderr
    r = run("studies/paper_budget.py", "pilot", "--root", str(tmp_path), "--lrs", "a,b")
    assert r.returncode != 0 and "--lrs must be comma-separated numbers" in r.stderr


def test_paper_budget_recipe_is_the_papers_method_at_the_stated_lr():
    sys.path.insert(0, str(ROOT / "studies"))
    try:
        import paper_budget
    finally:
        sys.path.pop(0)
    c = paper_budget.recipe()
    assert (c.train_mlps, c.epochs, c.lr_halve_epochs, c.width, c.mask_grad) == (3_200_000, 4, 2, 1.0, "none")
    assert c.options() == {} and c.total_steps * c.batch_size == 12_800_000  # none of our options beyond the paper
    assert paper_budget.RULE_LR == pytest.approx(1e-4 * (1024 / 32) ** 0.5)
    pilot = json.loads((ROOT / "results" / "paper-budget" / "pilot.json").read_text())
    assert c.lr == paper_budget.LR == pilot["chosen_lr"]  # the recipe runs at the lr its committed pilot chose
    assert "chosen by the committed pilot" in " ".join(paper_budget.differences(c))


def test_the_authors_recipe_runs_at_the_paper_budget_in_segments_and_exports_to_its_own_folder(tmp_path):
    sys.path.insert(0, str(ROOT / "studies"))
    try:
        import paper_budget
    finally:
        sys.path.pop(0)
    c = paper_budget.authors_run()
    assert (c.batch_size, c.lr, c.total_steps, c.mlp_passes, c.val_mlps) == (32, 1e-4, 400_000, 12_800_000, 2048)
    assert c.val_every * c.batch_size == paper_budget.recipe().val_every * paper_budget.BATCH  # validated at the same MLP passes
    assert paper_budget.recipe_of(c) == "authors" and paper_budget.recipe_of(paper_budget.recipe()) == "ours"
    state = tmp_path / "state"
    r = run("studies/paper_budget.py", "run", "--recipe", "authors", "--state", str(state), "--minutes", "0.02", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "stopped at the budget" in r.stdout and "of 400000" in r.stdout
    r = run("studies/paper_budget.py", "export", "--state", str(state), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    curve = json.loads((tmp_path / "out" / "curve.json").read_text())
    assert curve["recipe"] == "authors" and curve["config"]["batch_size"] == 32 and curve["config"]["lr"] == 1e-4
    assert curve["segments"][0]["recipe"] == "authors" and "--recipe authors" in curve["command"]
    from swao.training.checkpoint import load_autoencoder

    model, meta = load_autoencoder(tmp_path / "out" / "snapshot.safetensors")
    assert model.fc_layers == 3 and model.shortcut_norm == "per_mlp" and meta["steps"] >= 1


def test_paper_budget_table2_searches_the_snapshot_beside_the_baselines_and_feeds_the_findings(tmp_path):
    out = tmp_path / "table2.json"
    args = ("studies/paper_budget.py", "table2", "--scale", "smoke", "--threads", "1", "--out", str(out))
    r = run(*args, "--methods", "direct")
    assert r.returncode != 0 and "run the search part first" in r.stderr
    r = run(*args, "--methods", "prune")
    assert r.returncode != 0 and "--methods must name methods from" in r.stderr
    r = run(*args, "--methods", "search")  # one sitting: the search alone, into its part
    assert r.returncode == 0, r.stderr
    parts = tmp_path / "table2-parts"
    assert [p.name for p in parts.iterdir()] == ["search.json"] and "1 of 4 parts" in r.stdout
    first = json.loads(out.read_text())  # the search's row already, the baselines pending
    assert first["pending"] == ["direct", "pruned", "l0"] and not first["baselines"] and list(first["types"]["sigmoid"]) == ["search", "seconds"]
    assert first["baselines_done"] == []
    assert "baselines still to run: direct sparse, dense + prune, L0 gates" in first["provenance"]["sizes"]
    r = run(*args)  # the next: the parts not done yet, then the table
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in parts.iterdir()) == ["direct.json", "l0.json", "pruned.json", "search.json"]
    assert "'search'" not in r.stdout  # kept, not rerun
    t2 = json.loads(out.read_text())
    again = run(*args, "--methods", "search")  # done: nothing runs, the table is made again from its parts
    assert again.returncode == 0 and "Table 2 part" not in again.stdout and json.loads(out.read_text())["pending"] == []
    assert t2["pending"] == [] and t2["baselines_done"] == ["direct", "pruned", "l0"] and t2["baselines"] and t2["types"]["sigmoid"]["search"] == first["types"]["sigmoid"]["search"]
    assert set(t2["parts"]) == {"search", "direct", "pruned", "l0"} and t2["seconds"] == sum(t2["types"]["sigmoid"]["seconds"].values())
    smoke = get_config("smoke")
    assert (t2["steps"], t2["config"]["search_points"], t2["config"]["search_start"]) == (smoke.search_steps, smoke.search_points, "uniform")
    entry = t2["types"]["sigmoid"]
    assert list(t2["types"]) == ["sigmoid"] and {"search", "direct", "pruned", "l0"} <= set(entry)
    cells = [c for m in ("search", "direct", "pruned", "l0") for ds in entry[m].values() for c in ds.values()]
    assert len(cells) == 4 * 3 * 4 and not any("trajectories" in c or "frames" in c for c in cells)  # kept small
    curve = json.loads((ROOT / "results" / "paper-budget" / "curve.json").read_text())
    assert t2["steps_trained"] == curve["steps"] and f"step {curve['steps']:,} of" in t2["provenance"]["sizes"]
    from swao.book import findings
    from swao.render import reports

    table1 = json.loads((ROOT / "results" / "paper-budget" / "table1.json").read_text())
    early = {c["claim"]: c for c in findings.check(findings.budget_evidence(table1, first))}
    assert early["The search finds MLPs with low test MPE"]["mark"] != findings.NOT_RUN  # decided by the search alone
    assert "direct sparse" not in early["The search finds MLPs with low test MPE"]["ours"]  # not run yet: not counted as 0
    assert "of search," in reports.compute_sentence(findings.budget_used(table1, curve, first))
    later = {**first, "baselines_done": ["l0"]}  # a baseline done, two to run: named, not "baselines"
    assert "of search and L0 gates," in reports.compute_sentence(findings.budget_used(table1, curve, later))
    marks = {c["claim"]: c["mark"] for c in findings.check(findings.budget_evidence(table1, t2))}
    assert marks["The search finds MLPs with low test MPE"] != findings.NOT_RUN
    assert list(marks.values()).count(findings.NOT_RUN) == 3  # the p-norm losses, the other types, the embedding study
    assert findings.budget_used(table1, curve, t2)["search_seconds"] == t2["seconds"] > 0
    # another snapshot's table: the direct sparse part reads neither weights nor search, so it is copied, not rerun
    other = tmp_path / "other" / "table2.json"
    r = run(*args[:-2], "--out", str(other), "--methods", "search", "--reuse", str(parts))
    assert r.returncode == 0, r.stderr
    assert "part 'direct' (direct sparse): reused from" in r.stdout and r.stdout.count("part 'direct'") == 1  # not run
    copied = json.loads((other.parent / "table2-parts" / "direct.json").read_text())
    assert copied.pop("reused_from") == str(parts) + "/direct.json" and copied == json.loads((parts / "direct.json").read_text())
    t3 = json.loads(other.read_text())
    assert t3["pending"] == ["pruned", "l0"] and t3["parts"]["direct"]["reused_from"].endswith("direct.json")
    assert t3["types"]["sigmoid"]["direct"] == t2["types"]["sigmoid"]["direct"]
    r = run(*args[:-2], "--out", str(other), "--reuse", str(tmp_path / "none"))
    assert r.returncode != 0 and "--reuse must be a folder of Table 2 parts" in r.stderr


def test_paper_budget_your_data_searches_the_equations_through_the_snapshot_as_the_book_does(tmp_path):
    out = tmp_path / "your_data.json"
    r = run("studies/paper_budget.py", "your-data", "--scale", "smoke", "--threads", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    yd = json.loads(out.read_text())
    from swao.ours.feynman import BOOK_EQUATIONS

    assert yd["data"]["names"] == list(BOOK_EQUATIONS) and list(yd["types"]) == ["sigmoid"]
    assert yd["config"] == get_config("smoke").to_dict() and yd["provenance"]["scale"] == "paper-budget"
    cell = yd["types"]["sigmoid"]["search"][BOOK_EQUATIONS[0]]["D1"]
    assert "mpe_scaled" in cell and "trajectories" not in cell and "frames" not in cell  # in the user's units; kept small
    assert set(yd["floors"]["sigmoid"]) == set(BOOK_EQUATIONS)


def test_the_symmetry_study_trains_both_encoder_inputs_and_skips_what_it_has(tmp_path):
    out = tmp_path / "sym.json"
    args = ("studies/symmetry_study.py", "--scale", "smoke", "--seeds", "0", "--threads", "1", "--out", str(out))
    r = run(*args)
    assert r.returncode == 0, r.stderr
    study = json.loads(out.read_text())
    assert [x["encoder_input"] for x in study["runs"]] == ["as_drawn", "canonical"]
    assert all(len(x["best_median"]) == 4 and x["mlp_passes"] == study["runs"][0]["mlp_passes"] for x in study["runs"])
    assert "encoder_input=canonical" in study["runs"][1]["provenance"]["sizes"]
    curve = study["runs"][0]["curve"]  # the page's learning curves: validations along the run, the loss, the floors
    assert len(curve["step"]) >= 4 and curve["step"] == sorted(curve["step"])
    assert curve["step"][-1] * get_config("smoke").batch_size == study["runs"][0]["mlp_passes"]  # scored at the end too
    assert len(curve["best_decoder_median"][-1]) == 4 and len(curve["loss"]) == len(curve["loss_step"])
    assert len(curve["floors"]["constant"]["median"]) == 4
    again = run(*args)
    assert again.returncode == 0 and "seed 0" not in again.stdout  # kept, not rerun
    bad = run("studies/symmetry_study.py", "--seeds", "a", "--out", str(out))
    assert bad.returncode != 0 and "--seeds must be comma-separated integers" in bad.stderr


def recorded_commands(node):
    """Every ``command`` string in a result, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "command" and isinstance(value, str):
                yield value
            else:
                yield from recorded_commands(value)
    elif isinstance(node, list):
        for value in node:
            yield from recorded_commands(value)


def test_every_committed_results_command_runs_as_written():
    """A reader copies a result's command from the repository's root: its script must be there
    (five results once named benchmarks/ scripts that had moved to studies/)."""
    found = 0
    for path in sorted((ROOT / "results").rglob("*.json")):
        for command in recorded_commands(json.loads(path.read_text())):
            for part in command.split("; then "):
                words = part.split()
                found += 1
                assert words[0] in ("python", "swao"), f"{path}: {part!r} does not start with python or swao"
                if words[0] == "python":
                    assert (ROOT / words[1]).is_file(), f"{path}: {part!r} names {words[1]}, which is not in the repository"
    assert found > 20


def test_a_command_is_recorded_as_it_reruns():
    from swao.book.provenance import command_line

    assert command_line([str(ROOT / "studies" / "paper_budget.py"), "table1"]) == "python studies/paper_budget.py table1"
    assert command_line(["/usr/bin/swao", "search", "--dataset", "x.csv"]) == "swao search --dataset x.csv"
    assert command_line(["/elsewhere/tool.py", "-x"]) == "tool.py -x"


def test_the_scaling_study_trains_a_run_scores_it_and_skips_it_next_time(tmp_path):
    out = tmp_path / "scaling.json"
    args = ("studies/training_scaling.py", "--factors", "0.005", "--threads", "1", "--out", str(out))
    r = run(*args)
    assert r.returncode == 0, r.stderr
    study = json.loads(out.read_text())
    (row,) = study["runs"]
    assert row["factor"] == 0.005 and row["steps"] == 9 and row["mlp_passes"] == 9 * 64 and row["train_seconds"] > 0
    assert len(row["best_median"]) == 4 and study["command"].startswith("python studies/training_scaling.py")
    again = run(*args)
    assert again.returncode == 0 and "[scaling] x0.005" not in again.stdout


def test_every_committed_study_is_declared_with_its_script_and_the_pages_that_read_it():
    """swao.book.stages.STUDIES: each result file under results/ (but a GPU run's results/paper/
    and the parts of a table) is declared; its script exists and is the one its own command names;
    every page that reads a committed study by name is among its declared readers."""
    import re

    from swao.book.stages import STUDIES

    on_disk = {p.relative_to(ROOT / "results").with_suffix("").as_posix() for p in (ROOT / "results").rglob("*.json")
               if p.parts[-2] not in ("paper", "table2-parts")}
    assert on_disk == set(STUDIES), f"undeclared: {sorted(on_disk - set(STUDIES))}; missing: {sorted(set(STUDIES) - on_disk)}"
    for name, (script, pages) in STUDIES.items():
        assert (ROOT / script).is_file(), f"{name}: {script} is not in the repository"
        command = json.loads((ROOT / "results" / f"{name}.json").read_text())["command"]
        assert command.split()[1] == script, f"{name}: made by {command.split()[1]}, declared {script}"
        assert all((ROOT / "notebooks" / f"{page}.ipynb").is_file() for page in pages), name
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for folder, file in re.findall(r'exported\(\\"([a-z-]+)\\", \\"([a-z0-9_-]+)\\"\)', nb.read_text()):
            if folder != "paper":
                assert nb.stem in STUDIES[f"{folder}/{file}"][1], f"{nb.stem} reads {folder}/{file} but is not declared"
