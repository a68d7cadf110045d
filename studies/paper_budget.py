"""The paper's own training budget on a CPU: the headline autoencoder (sigmoid-based MLPs, eq. 3's
min loss, the authors' hard masks, none of our options beyond the paper) for the paper's 12.8 M
MLP passes, trained in segments, by one of two recipes (``--recipe``):

* ``ours`` (:func:`recipe`): the paper's network as its text draws it (4 FC layers, no norm),
  3.2 M MLPs x 4 epochs in batches of 1,024 at lr 1e-3 (12,500 steps); ``results/paper-budget``.
* ``authors`` (:func:`authors_run`): the authors' training script, 400,000 steps of 32 at lr 1e-4
  (3 FC layers, BatchNorm shortcuts one MLP at a time, eval mode from their second epoch, their
  batches; :func:`swao.training.config.authors_recipe`); ``results/paper-budget-authors``.

Each recipe is fixed here, once; every segment and every new machine obeys it. A state
directory holds one run: ``export`` and the scores read the recipe from it.

    # a segment: start the run, or continue it from its full checkpoint (weights + Adam), bit for bit
    python studies/paper_budget.py run --state /root/swao-longrun/state --minutes 70
    python studies/paper_budget.py run --recipe authors --state /root/swao-authors/state --minutes 70
    # at every stop: the learning curve so far and one weights-only bf16 snapshot, into the repo,
    # then that snapshot scored as the paper's Table 1 and Figure 2 (1,000 test MLPs per encoder)
    python studies/paper_budget.py export --state /root/swao-longrun/state   # -> results/paper-budget (its recipe's folder)
    python studies/paper_budget.py table1 --snapshot results/paper-budget/snapshot.safetensors
    # once, at 12.8 M passes: Table 2's sigmoid row at the paper's search sizes, beside the baselines,
    # in parts (one per method, in results/paper-budget/table2-parts/) that may span sittings
    python studies/paper_budget.py table2 --methods search
    python studies/paper_budget.py table2            # the parts not done yet, then table2.json
    # on a new machine, where the full state is not: continue from the committed snapshot
    # (fresh Adam moments, a 100-step linear warm-up of the learning rate; recorded)
    python studies/paper_budget.py run --state DIR --warm-start results/paper-budget/snapshot.safetensors --minutes 70

Run it from its own checkout of one fixed commit, outside the work tree, in the background
(``nohup``), one training at a time. The full state (``--state``) never enters the repository.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import swao  # noqa: F401  (first: its import sets GOMP_SPINCOUNT before torch is imported; swao/__init__.py)

import torch

from swao.training import diagnostics
from swao.book.cache import read_json, write_json
from swao.book.provenance import git_commit, machine_name, provenance
from swao.book.autoencoders import figure2_panel, table1_block
from swao.book.findings import budget_cpus, budget_recipe
from swao.training.checkpoint import CHECKPOINT, load_autoencoder, read_checkpoint, save_snapshot
from swao.training.config import Config, get_config, network
from swao.training.evaluation import test_seed, validation_mlps
from swao.method.representation import MAX_DEPTH
from swao.training.spec import autoencoder_spec
from swao.training.train import train_autoencoder
from swao.ours.table2 import METHODS, WEIGHT_FREE, Comparison, result_header, table2_datasets, type_entry
from swao.book.your_data import search_your_data

ACTIVATION, LOSS, MASK_GRAD = "sigmoid", "min", "none"  # the headline autoencoder, the authors' hard masks
AUTHORS = {"lr": 1e-4, "batch_size": 32, "lr_halve_epochs": 2, "init": "Xavier uniform", "optimizer": "Adam"}
BATCH = 1024  # chosen by measured MLPs/s on 2 cores (benchmarks/RESULTS.md: 853 at 1024, 689 at 256, 571 at 64)
RULE_LR = 1e-4 * (BATCH / AUTHORS["batch_size"]) ** 0.5  # the authors' lr scaled by the square root of the batch ratio
# The pilot (results/paper-budget/pilot.json, 200 steps per lr, rule fixed before the runs) chose 1e-3: mean
# best-decoder median 38.5 % against the rule's 49.2 % (3e-4: 50.9 %).
LR = 1e-3
SEGMENTS = "segments.json"  # in the state directory: one record per segment
OUT = {"ours": "results/paper-budget", "authors": "results/paper-budget-authors"}  # each recipe's committed results
LOG_PASSES = BATCH  # a loss record every 1,024 MLP passes (the batch-1,024 run's every step), whatever the batch


def recipe(lr: float = LR) -> Config:
    """The run's configuration: the paper scale's sizes (3.2 M MLPs x 4 epochs, lr halved every 2
    epochs), batch :data:`BATCH` at ``lr``, a checkpoint every 200 steps (a few minutes on 2
    cores) and a validation every 250 steps on 2,048 held-out MLPs."""
    return get_config("paper", batch_size=BATCH, lr=lr, checkpoint_every=200, val_every=250, val_mlps=2048)


def authors_run() -> Config:
    """The authors' recipe at the paper's budget (:func:`swao.training.config.authors_recipe`:
    400,000 steps of 32, 12.8 M MLP passes), a checkpoint every 2,000 steps (about 4 minutes on 2
    cores) and a validation on the batch-1,024 run's 2,048 held-out MLPs at the same MLP passes
    (every 8,000 steps = 256,000 passes, as its every 250 steps)."""
    return get_config("paper", recipe="authors", checkpoint_every=2000, val_every=250 * BATCH // 32, val_mlps=2048)


def recipe_of(config: Config) -> str:
    """The recipe a run's configuration follows: ``"authors"`` or ``"ours"``."""
    return "authors" if config.authors_code() else "ours"


def run_config(name: str) -> Config:
    return authors_run() if name == "authors" else recipe()


def differences(config: Config) -> list[str]:
    """What differs from the authors' training script, in words (for the provenance and the book)."""
    if recipe_of(config) == "authors":
        return [
            f"the paper's 12.8 M MLP passes ({config.total_steps:,} steps of {config.batch_size}), not the authors' code's "
            "10 epochs of 150,001 steps (48 M passes)",
            "validation on 2,048 fixed held-out MLPs every 256,000 passes, in eval mode and back to the step's mode "
            "after; theirs (50 x 32 MLPs after each epoch) leaves the network in eval mode, which this run does at the same step",
            "their generator's law drawn from our seeds (torch.Generator), not their random stream (torch and numpy seeded 45)",
            "the decoded MLPs evaluated by our forward core (eq. 1; theirs masks by the decoded weights' non-zero "
            "pattern: the same function unless a decoded weight is exactly 0)",
        ]
    return [
        f"batch {config.batch_size} instead of the authors' {AUTHORS['batch_size']} (2-core CPU throughput)",
        f"Adam lr {config.lr:.3g} instead of {AUTHORS['lr']:g}: the authors' lr scaled by sqrt(batch ratio) = "
        f"sqrt({config.batch_size}/{AUTHORS['batch_size']})" if abs(config.lr - RULE_LR) < 1e-12 else
        f"Adam lr {config.lr:.3g} instead of {AUTHORS['lr']:g}, chosen by the committed pilot over the sqrt rule's "
        f"{RULE_LR:.3g} (results/paper-budget/pilot.json)",
        "the paper's 3.2 M MLPs x 4 epochs (12.8 M passes), not the authors' code's 10 epochs over 4.8 M MLPs (48 M passes)",
        "batches stratified by depth (a quarter of each depth) and drawn by seed per step, the same in every epoch",
        "hidden widths 3 to 7 as the paper's appendix; the authors' generator draws randint(3, 7), i.e. 3 to 6 neurons",
        "weights U(-10, 10) for sigmoid-based MLPs, as the paper and the code",
    ]


def segment(state: Path, minutes: float, warm_start: str | None, threads: int, name: str = "ours") -> int:
    """One segment: start, resume or warm-start the run of recipe ``name``, train until the wall-clock budget, stop."""
    config = run_config(name)
    torch.set_num_threads(threads)
    state.mkdir(parents=True, exist_ok=True)
    resume = (state / CHECKPOINT).exists()
    if resume and warm_start:
        raise SystemExit(f"{state} already holds the run's checkpoint: resume it without --warm-start")
    t0, wall0 = time.perf_counter(), time.time()
    before = read_checkpoint(state)[1]["steps"] if resume else None
    result = train_autoencoder(config, autoencoder_spec(config, ACTIVATION, LOSS, mask_grad=MASK_GRAD), state, resume=resume,
                               warm_start=None if resume else warm_start, device="cpu", threads=threads,
                               deadline=wall0 + 60 * minutes, log_every=max(1, LOG_PASSES // config.batch_size))
    meta = result["meta"]
    segments = read_json(state / SEGMENTS) if (state / SEGMENTS).exists() else []
    beside = Path(warm_start).with_name("curve.json") if warm_start else None
    if not segments and beside is not None and beside.exists():  # a new machine: the earlier segments' record
        segments = read_json(beside)["segments"]
    segments.append({"from_step": before if before is not None else (meta.get("warm_starts") or [{"step": 0}])[-1]["step"],
                     "to_step": meta["steps"], "seconds": time.perf_counter() - t0,
                     "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(wall0)),
                     "how": "resumed" if resume else ("warm start from a snapshot" if warm_start else "started"),
                     "cpu": machine_name(), "threads": threads, "commit": git_commit(), "torch": torch.__version__,
                     "recipe": name})
    write_json(state / SEGMENTS, segments)
    print(f"segment: steps {segments[-1]['from_step']} -> {meta['steps']} of {meta['total_steps']} "
          f"in {segments[-1]['seconds'] / 60:.1f} min ({'stopped at the budget' if result['stopped'] else 'run complete'})")
    return 0


def export(state: Path, out: Path) -> int:
    """The curve so far (``curve.json``) and one weights-only bf16 snapshot (``snapshot.safetensors``)."""
    model_state, meta, _ = read_checkpoint(state)
    config = Config(**meta["config"])
    history = meta["history"]
    segments = read_json(state / SEGMENTS) if (state / SEGMENTS).exists() else []
    n = validation_mlps(config)[0]
    floors_path = state / "floors.json"  # the floors on the validation MLPs: computed once
    if not floors_path.exists():
        write_json(floors_path, diagnostics.validation_floors(config, ACTIVATION))
    curve = {
        "autoencoder": f"{ACTIVATION}-{LOSS}", "mask_grad": MASK_GRAD, "config": config.to_dict(),
        "recipe_differences": differences(config), "authors": AUTHORS,
        "steps": meta["steps"], "total_steps": meta["total_steps"], "mlp_passes": meta["steps"] * config.batch_size,
        "paper_mlp_passes": get_config("paper").mlp_passes,
        "hours": sum(s["seconds"] for s in segments) / 3600, "segments": segments,
        "warm_starts": meta.get("warm_starts", []), "validation_mlps_per_encoder": n,
        "floors": read_json(floors_path),
        "val": [{**v, "mlp_passes": v["step"] * config.batch_size} for v in history["val"]],
        "loss": {"step": history["step"][::25], "loss": history["loss"][::25], "lr": history["lr"][::25]},
        "recipe": recipe_of(config),
        "command": f"python studies/paper_budget.py run --recipe {recipe_of(config)} --state STATE --minutes M (segments), then export",
        "provenance": provenance("cpu", config),
    }
    out.mkdir(parents=True, exist_ok=True)
    model = network(config, MASK_GRAD)
    model.load_state_dict(model_state)
    # at each stop, scored as the scaling study scores (the small book's Table 1 test MLPs), so the
    # run's points sit on the scaling figure beside the study's and its prediction
    old = read_json(out / "curve.json") if (out / "curve.json").exists() else {}
    small = get_config("small")
    scored = [p for p in old.get("scored", []) if p["steps"] != meta["steps"]]
    scored.append({"steps": meta["steps"], "mlp_passes": meta["steps"] * config.batch_size, "hours": curve["hours"],
                   **diagnostics.table1_view(model.eval(), ACTIVATION, small.eval_mlps, test_seed(small.seed))})
    curve["scored"] = sorted(scored, key=lambda p: p["steps"])
    curve["scored_on"] = f"the small book's Table 1 test MLPs ({small.eval_mlps} per encoder, seed {test_seed(small.seed)}), as the scaling study"
    save_snapshot(out / "snapshot.safetensors", model, {**{k: v for k, v in meta.items() if k != "history"},
                                                          "history": history, "commit": git_commit()})
    write_json(out / "curve.json", curve)
    last = curve["val"][-1] if curve["val"] else None
    print(f"exported step {meta['steps']:,} of {meta['total_steps']:,} ({curve['mlp_passes'] / 1e6:.2f} M of "
          f"{curve['paper_mlp_passes'] / 1e6:.1f} M MLP passes, {curve['hours']:.2f} h)"
          + (f"; validation best-decoder medians {' / '.join(f'{v:.1f}' for v in last['best_decoder_median'])} %" if last else ""))
    return 0


def table1(snapshot: Path, out: Path) -> int:
    """The run's autoencoder at its last stop, scored as the paper's Table 1 (sigmoid block, min
    loss) and Figure 2 (sigmoid row) are: the paper scale's 1,000 fresh test MLPs per encoder (the
    same MLPs as a paper-scale run of the book) and Figure 2's three MLPs, through the committed
    weights-only snapshot; ``table1.json`` beside it. Seconds of CPU: rerun it at every stop."""
    model, meta = load_autoencoder(snapshot)
    curve = read_json(snapshot.with_name("curve.json"))
    paper = get_config("paper")
    t0 = time.perf_counter()
    block = table1_block(model, ACTIVATION, paper)
    panel = figure2_panel(model, ACTIVATION, paper)
    passes, total = meta["steps"] * curve["config"]["batch_size"], curve["paper_mlp_passes"]
    prov = {**provenance("cpu", "paper-budget"),
            "sizes": f"{weights_line(meta, curve)}; {paper.eval_mlps:,} test MLPs per encoder as the paper"}
    result = {"autoencoder": curve["autoencoder"], "steps": meta["steps"], "total_steps": meta["total_steps"],
              "mlp_passes": passes, "paper_mlp_passes": total, "train_hours": curve["hours"], **block,
              "figure2": {"types": {ACTIVATION: panel}, "provenance": prov}, "seconds": time.perf_counter() - t0,
              "command": f"python studies/paper_budget.py table1 --snapshot {snapshot}",
              "provenance": prov}
    write_json(out, result)
    print(f"Table 1 at step {meta['steps']:,} ({paper.eval_mlps:,} test MLPs per encoder): best-decoder medians "
          f"{' / '.join(f'{v:.1f}' for v in block['best_median'])} %, best cells "
          f"{' / '.join(f'{min(col):.3g}' for col in zip(*block['table']))} % ({result['seconds']:.0f} s)")
    return 0


def weights_line(meta: dict, curve: dict) -> str:
    """Which weights a score of the run used, in words (its provenance's ``sizes``)."""
    passes, total = meta["steps"] * curve["config"]["batch_size"], curve["paper_mlp_passes"]
    return (f"the paper's network trained by {budget_recipe(curve)}; "
            f"weights of step {meta['steps']:,} of {meta['total_steps']:,} ({passes / 1e6:.2f} M of the paper's "
            f"{total / 1e6:.1f} M MLP passes, {passes / total:.0%}; {curve['hours']:.1f} h on {', '.join(budget_cpus(curve))}), "
            "as a bf16 snapshot")


def slim_cells(cells_of: dict) -> dict:
    """One method's cells ``{dataset: {decoder: cell}}`` without their runs' trajectories and
    snapshots (megabytes no page of these committed results draws), in place."""
    for cells in cells_of.values():
        for cell in cells.values():
            cell.pop("trajectories", None)
            cell.pop("frames", None)
    return cells_of


def slim(result: dict) -> dict:
    """A search result without its runs' trajectories and snapshots (:func:`slim_cells`), in place."""
    for entry in result["types"].values():
        for method in METHODS:
            slim_cells(entry.get(method, {}))
    return result


def table2_parts(out: Path) -> Path:
    """The folder of Table 2's parts, one file per method, beside ``out``."""
    return out.with_name(out.stem + "-parts")


def reuse_parts(folder: Path, reuse: Path, config: Config) -> list[str]:
    """Copy into ``folder`` the parts of :data:`~swao.ours.table2.WEIGHT_FREE` methods found in
    ``reuse`` (another snapshot's :func:`table2_parts`) that ``folder`` lacks: they read neither
    the weights nor the search, so through these weights at the same sizes they are the same run.
    Each copy says where it came from (``reused_from``). Returns the methods copied."""
    copied = []
    for m in WEIGHT_FREE:
        source, target = reuse / f"{m}.json", folder / f"{m}.json"
        if target.exists() or not source.exists():
            continue
        part = read_json(source)
        if Config(**part["config"]).to_dict() != config.to_dict():
            raise SystemExit(f"--reuse: {source} was made at other sizes than the {config.scale} scale's")
        write_json(target, {**part, "reused_from": str(source)})
        copied.append(m)
    return copied


def table2(snapshot: Path, out: Path, scale: str, methods: list[str] | None = None, reuse: Path | None = None) -> int:
    """The run's autoencoder searched as the paper's Table 2 (sigmoid row): the paper's search
    (eq. 4-6: ``z ~ U[0, 1)``, hard masks, the penalty over every decoded weight) at the paper's
    sizes (30,000 steps, 100,000-point datasets, 3 restarts; ``scale="smoke"``: the smoke scale's,
    for tests), beside direct sparse training, dense + pruning and the L0 gates at the same budget
    (:meth:`swao.ours.table2.Comparison.run`). About 1.7 h of 2-core CPU at the paper's sizes, so it
    runs in parts that may span sittings: each method (``methods``, default every one not done
    yet, the search first: the baselines after it read its non-zero counts) writes its own file
    in :func:`table2_parts`, with the CPU that made it, and ``out`` (``table2.json``) is rewritten
    from the parts done so far (:func:`table2_result`). Run once, on the final weights. ``reuse``:
    another snapshot's parts folder, whose weight-free parts are copied (:func:`reuse_parts`)."""
    model, meta = load_autoencoder(snapshot)
    if scale == "paper" and meta["steps"] < meta["total_steps"]:
        raise SystemExit(f"{snapshot} holds the weights of step {meta['steps']:,} of {meta['total_steps']:,}: Table 2 at the "
                         "paper's sizes (about 1.7 hours) is run once, on the final weights")
    curve = read_json(snapshot.with_name("curve.json"))
    config = get_config(scale)
    if config.options():
        raise SystemExit(f"the {scale} scale turns on options beyond the paper's search ({config.options()}): use smoke or paper")
    folder = table2_parts(out)
    if reuse is not None:
        for m in reuse_parts(folder, reuse, config):
            print(f"Table 2 part '{m}' ({METHODS[m]}): reused from {reuse} (it reads neither the weights nor the search)")
    done = {m: read_json(folder / f"{m}.json") for m in METHODS if (folder / f"{m}.json").exists()}
    for m, part in done.items():  # a part made through other weights (but a weight-free one) or sizes is not one of these
        other_weights = m not in WEIGHT_FREE and part["steps_trained"] != meta["steps"]
        if other_weights or Config(**part["config"]).to_dict() != config.to_dict():
            raise SystemExit(f"{folder / f'{m}.json'} was made through the weights of step {part['steps_trained']:,} or at "
                             f"other sizes: remove {folder} to search these weights at the {scale} sizes")
    todo = [m for m in (methods or METHODS) if m not in done]
    if any(m != "search" for m in todo) and "search" not in done and "search" not in todo:
        raise SystemExit("the baselines read the search's non-zero counts: run the search part first (--methods search)")
    data = table2_datasets(ACTIVATION, config.search_points, config.seed)
    comparison = Comparison.of(config, config.seed)
    for m in sorted(todo, key=list(METHODS).index):
        searched = done["search"]["cells"]["search"] if m != "search" else None
        part = comparison.run(m, model, ACTIVATION, data, searched)
        slim_cells(part["cells"][m])
        done[m] = {"method": m, **part, "steps_trained": meta["steps"], "config": config.to_dict(),
                   "provenance": provenance("cpu", config)}
        write_json(folder / f"{m}.json", done[m])  # kept: a later part stopped midway loses only itself
        print(f"Table 2 part '{m}' ({METHODS[m]}): {part['seconds'] / 60:.1f} min", flush=True)
    if done:  # the table, made from the parts done so far (again where none ran now)
        write_json(out, table2_result(done, meta, curve, config, snapshot, scale))
    pending = [m for m in METHODS if m not in done]
    if pending:
        print(f"Table 2: {len(done)} of {len(METHODS)} parts in {folder}; the rest: python studies/paper_budget.py table2 "
              f"--methods {','.join(pending)}")
    else:
        print(f"Table 2, sigmoid row, through the weights of step {meta['steps']:,}: {config.search_steps:,} search steps on "
              f"{config.search_points:,}-point datasets; the four parts took {sum(d['seconds'] for d in done.values()) / 60:.1f} min")
    return 0


def table2_result(done: dict, meta: dict, curve: dict, config: Config, snapshot: Path, scale: str) -> dict:
    """Table 2's parts done so far (``done``: ``{method: part}``, the search among them) as one
    result in the form of :func:`swao.ours.table2.run_table2`'s, with the baselines done
    (``baselines_done``) and the methods still to run (``pending``; ``baselines`` once none is),
    each part's CPU and seconds, and the weights' provenance."""
    entry = type_entry(done)
    pending = [m for m in METHODS if m not in done]
    hardware = "; ".join(sorted({d["provenance"]["hardware"] for d in done.values()}))
    made = {**provenance("cpu", config), "scale": "paper-budget" if scale == "paper" else scale, "hardware": hardware,
            "date": max(d["provenance"]["date"] for d in done.values())}
    return {**result_header(config, config.seed, "cpu", not pending), "pending": pending,
            "baselines_done": [m for m in METHODS if m in done and m != "search"],
            "types": {ACTIVATION: entry},
            "seconds": sum(entry["seconds"].values()), "steps_trained": meta["steps"], "total_steps": meta["total_steps"],
            "mlp_passes": meta["steps"] * curve["config"]["batch_size"], "paper_mlp_passes": curve["paper_mlp_passes"],
            "train_hours": curve["hours"],
            "parts": {m: {"hardware": d["provenance"]["hardware"], "commit": d["provenance"]["commit"],
                          "date": d["provenance"]["date"], "seconds": d["seconds"],
                          **({"reused_from": d["reused_from"]} if "reused_from" in d else {})} for m, d in done.items()},
            "command": f"python studies/paper_budget.py table2 --snapshot {snapshot}" + ("" if scale == "paper" else f" --scale {scale}"),
            "provenance": {**made, "sizes": f"{weights_line(meta, curve)}; the paper's search (uniform start, hard masks, "
                                              f"eq. 6 over every weight), {config.search_steps:,} steps on {config.search_points:,}-point "
                                              f"datasets, {config.restarts} restarts"
                                              + (", beside the three baselines at the same steps" if not pending else
                                                 f"; baselines still to run: {', '.join(METHODS[m] for m in pending)}")}}


def your_data(snapshot: Path, out: Path, scale: str) -> int:
    """The your-data page's datasets (the three Feynman equations) searched through the run's
    autoencoder exactly as the book's ``scale`` searches them through its own (the scale's search
    sizes and options, :func:`swao.book.your_data.search_your_data`), beside the three baselines:
    the same search, another autoencoder. ``your_data.json`` beside the snapshot; minutes."""
    model, meta = load_autoencoder(snapshot)
    curve = read_json(snapshot.with_name("curve.json"))
    config = get_config(scale)
    result = slim(search_your_data({ACTIVATION: model}, config))
    opts = ", ".join(f"{k}={v}" for k, v in config.options().items() if k.startswith("search_")) or "none"
    result.update(steps_trained=meta["steps"], total_steps=meta["total_steps"], train_hours=curve["hours"],
                  command=f"python studies/paper_budget.py your-data --snapshot {snapshot}" + ("" if scale == "small" else f" --scale {scale}"),
                  provenance={**result["provenance"], "scale": "paper-budget",
                              "sizes": f"{weights_line(meta, curve)}; searched as the {scale} book searches this page: "
                                       f"{config.search_steps:,} steps on {config.search_points:,}-point datasets, "
                                       f"{config.restarts} restarts, search options beyond the paper: {opts}"})
    write_json(out, result)
    print(f"your data through the weights of step {meta['steps']:,}: {', '.join(result['data']['names'])} "
          f"in {result['seconds'] / 60:.1f} min")
    return 0


CLEARLY = 0.9  # the pilot: another lr replaces the rule's only if its score is below this times the rule's


def pilot(lrs: list[float], steps: int, root: Path, out: Path, threads: int) -> int:
    """A short pilot of the recipe at several learning rates: the same first ``steps`` steps
    (the same MLPs), then the validation of the run. The score is the mean over encoders of the
    best-decoder median MPE on the 2,048 validation MLPs; an lr replaces the square-root rule's
    only if it scores below :data:`CLEARLY` times the rule's (fixed before the runs)."""
    torch.set_num_threads(threads)
    result = read_json(out) if out.exists() else {"steps": steps, "runs": []}
    result.update(rule=f"lowest mean best-decoder median; replaces the sqrt rule's lr {RULE_LR:.3g} only below {CLEARLY} x its score",
                  command="python studies/paper_budget.py pilot " + " ".join(f"{a}" for a in sys.argv[2:]),
                  provenance=provenance("cpu", recipe()))
    for lr in lrs:
        if any(abs(r["lr"] - lr) < 1e-12 for r in result["runs"]):
            continue
        t0 = time.perf_counter()
        run = train_autoencoder(recipe(lr), autoencoder_spec(recipe(lr), ACTIVATION, LOSS, mask_grad=MASK_GRAD),
                                root / f"pilot-lr{lr:.3g}", resume=True, steps=steps, device="cpu", threads=threads)
        val, hist = run["history"]["val"][-1], run["history"]
        result["runs"].append({"lr": lr, "seconds": time.perf_counter() - t0, "val": val,
                               "score": sum(val["best_decoder_median"]) / MAX_DEPTH,
                               "loss": {"step": hist["step"], "loss": hist["loss"]}})
        write_json(out, result)
        print(f"pilot lr {lr:.3g}: validation best-decoder medians {' / '.join(f'{v:.1f}' for v in val['best_decoder_median'])} %, "
              f"last loss {hist['loss'][-1]:.3g}", flush=True)
    base = min(result["runs"], key=lambda r: abs(r["lr"] - RULE_LR))
    best = min(result["runs"], key=lambda r: r["score"])
    result["chosen_lr"] = best["lr"] if best["score"] < CLEARLY * base["score"] else base["lr"]
    write_json(out, result)
    print(f"pilot: chosen lr {result['chosen_lr']:.3g} (the rule's {RULE_LR:.3g} scores {base['score']:.1f}, the best {best['score']:.1f} at lr {best['lr']:.3g})")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="one segment")
    r.add_argument("--state", required=True, help="the run's directory (full checkpoint), outside the repository")
    r.add_argument("--minutes", type=float, required=True, help="this segment's wall-clock budget")
    r.add_argument("--warm-start", default=None, help="a weights-only snapshot, where the state is not (a new machine)")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--recipe", default="ours", choices=tuple(OUT), help="ours (batch 1,024, lr 1e-3) or the authors' script (batch 32, lr 1e-4)")
    pl = sub.add_parser("pilot", help="a short pilot of the recipe at several learning rates")
    pl.add_argument("--lrs", default=f"3e-4,{RULE_LR:.4g},1e-3")
    pl.add_argument("--steps", type=int, default=200)
    pl.add_argument("--root", required=True, help="the pilot runs' directories, outside the repository")
    pl.add_argument("--out", default="results/paper-budget/pilot.json")
    pl.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("export", help="the curve and the snapshot, for the repository")
    e.add_argument("--state", required=True)
    e.add_argument("--out", default=None, help="default: the run's recipe's folder (results/paper-budget or results/paper-budget-authors)")
    scored = {  # what reads the committed snapshot: (help, its file beside the snapshot, --scale choices or None)
        "table1": ("the committed snapshot scored as the paper's Table 1 and Figure 2 (sigmoid)", "table1.json", None),
        "table2": ("the final snapshot searched as the paper's Table 2 (sigmoid row), beside the baselines", "table2.json",
                   ("paper", "smoke")),
        "your-data": ("the your-data page's equations searched through the snapshot, as the small book does", "your_data.json",
                      ("small", "smoke")),
    }
    for name, (what, file, scales) in scored.items():
        c = sub.add_parser(name, help=what)
        c.add_argument("--snapshot", default="results/paper-budget/snapshot.safetensors")
        c.add_argument("--out", default=None, help=f"default: {file} beside the snapshot")
        if scales:
            c.add_argument("--scale", default=scales[0], choices=scales, help="the search's sizes and options (smoke: for tests)")
        c.add_argument("--threads", type=int, default=2)
        if name == "table2":
            c.add_argument("--methods", default=None, help=f"comma-separated parts to run now, from {list(METHODS)} "
                                                           "(default: every one not done yet, the search first)")
            c.add_argument("--reuse", type=Path, default=None, metavar="PARTS",
                           help=f"another snapshot's Table 2 parts folder: its {', '.join(WEIGHT_FREE)} part (it reads neither "
                                "the weights nor the search) is copied, not rerun, e.g. results/paper-budget/table2-parts")
    a = ap.parse_args(argv)
    if a.what in scored:
        torch.set_num_threads(a.threads)
        snapshot = Path(a.snapshot)
        out = Path(a.out) if a.out else snapshot.with_name(scored[a.what][1])
        if a.what == "table1":
            return table1(snapshot, out)
        if a.what == "table2":
            methods = a.methods.split(",") if a.methods else None
            if methods and (bad := [m for m in methods if m not in METHODS]):
                raise SystemExit(f"--methods must name methods from {list(METHODS)}, got {bad}")
            if a.reuse is not None and not a.reuse.is_dir():
                raise SystemExit(f"--reuse must be a folder of Table 2 parts, got {a.reuse}")
            return table2(snapshot, out, a.scale, methods, a.reuse)
        return your_data(snapshot, out, a.scale)
    if a.what == "run":
        if not a.minutes > 0:
            raise SystemExit(f"--minutes must be > 0, got {a.minutes}")
        if a.threads < 1:
            raise SystemExit(f"--threads must be >= 1, got {a.threads}")
        return segment(Path(a.state), a.minutes, a.warm_start, a.threads, a.recipe)
    if a.what == "pilot":
        try:
            lrs = [float(v) for v in a.lrs.split(",")]
        except ValueError:
            raise SystemExit(f"--lrs must be comma-separated numbers, got {a.lrs!r}") from None
        if not lrs or any(not v > 0 for v in lrs) or a.steps < 1:
            raise SystemExit(f"--lrs must be > 0 and --steps >= 1, got {a.lrs!r}, {a.steps}")
        return pilot(lrs, a.steps, Path(a.root), Path(a.out), a.threads)
    out = Path(a.out) if a.out else Path(OUT[recipe_of(Config(**read_checkpoint(a.state)[1]["config"]))])
    return export(Path(a.state), out)


if __name__ == "__main__":
    sys.exit(main())
