"""Build the book: compute every result first, in the foreground, then render.

    python book/build.py --scale small        # what `make book` runs
    python book/build.py --scale smoke --out DIR

1. **Compute.** The results the notebooks read (``swao.book.experiments.NOTEBOOK_STAGES``) are
   computed by ``swao reproduce --no-export`` in this process: a progress bar per autoencoder
   and per search / baseline run, a line per finished stage, the stage times at the end.
   What the cache already holds is read, not recomputed.
2. **Render.** Every notebook runs with papermill from its clean source (as many at once as
   the CPU has cores, each in a kernel of its own), with ``SWAO_NO_COMPUTE=1``: it only reads
   results, and one that is missing stops the build with an error that names it. Executed
   notebooks go to ``book/generated/`` (git-ignored; the toc points there), never over the
   sources.
3. **HTML.** Jupyter Book renders the executed notebooks and the pages.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCALES = ("smoke", "small", "paper")


def compute_results(scale: str, device: str = "cpu", only: list[str] | None = None) -> None:
    """Stage 1: compute (or find in the cache) every result the notebooks read, with progress."""
    from swao.book import experiments
    from swao.book.reproduce import reproduce

    stages = experiments.stages_for(only or [nb.stem for nb in NOTEBOOKS])
    if not stages:
        return
    start = time.perf_counter()
    print(f"[book] compute: {', '.join(stages)} at {scale} scale on {device}", flush=True)
    reproduce(scale, device, stages=stages, export=False, full=True)  # full: the sizes the notebooks ask for
    print(f"[book] compute: {time.perf_counter() - start:6.1f} s", flush=True)


def run_notebooks(scale: str, dest: Path, device: str = "cpu", only: list[str] | None = None,
                  compute: bool = False) -> None:
    """Execute the notebooks with papermill into ``dest``, as many at once as the CPU has cores
    (each in a kernel of its own). ``compute=False``: they may only read results
    (``SWAO_NO_COMPUTE=1``); a missing one stops with an error naming it. ``compute=True``: one
    at a time (two notebooks must not compute the same missing result)."""
    import nbformat
    import papermill as pm
    from swao.book.cache import NO_COMPUTE
    from swao.book.parallel import processes_for

    dest.mkdir(parents=True, exist_ok=True)
    todo = [nb for nb in NOTEBOOKS if not only or nb.stem in only]

    def execute(nb: Path) -> None:
        start = time.perf_counter()
        params = page_parameters(nb, scale, device)
        tmp = dest / f".tmp-{nb.name}"
        try:
            pm.execute_notebook(str(nb), str(tmp), parameters=params, kernel_name="python3", cwd=str(ROOT),
                                progress_bar=False, log_output=compute, kernel_manager_class=book_kernel_manager())
        except pm.PapermillExecutionError as err:
            raise SystemExit(f"[book] {nb.stem} failed: {err.ename}: {err.evalue}\n"
                             f"[book] the executed notebook with the error: {tmp}") from None
        page = nbformat.read(tmp, as_version=4)  # what the book shows of it, then written once
        one_parameter_block(page)
        drop_empty_paper_sections(page)
        seconds = time.perf_counter() - start
        add_rerun_box(page, nb, params, seconds, at_once, compute)
        nbformat.write(page, tmp)
        os.replace(tmp, dest / nb.name)
        print(f"[book] {nb.stem}: {seconds:6.1f} s", flush=True)

    at_once = 1 if compute else processes_for("cpu", len(todo))
    with mock.patch.dict(os.environ, {NO_COMPUTE: "0" if compute else "1"}), ThreadPoolExecutor(at_once) as pool:
        list(pool.map(execute, todo))  # the first error, raised here


def book_kernel_manager():
    """The kernel manager papermill starts each notebook's kernel with. Two differences from
    jupyter_client's, each of which printed a WARNING or ERROR line per notebook in a green build:

    * local IPC sockets, not TCP: over TCP without CurveZMQ keys ipykernel warns, rightly, that
      everything is sent in plain text. Each kernel's sockets are files of its own in the
      temporary folder (the default name, ``kernel-ipc`` in the working folder, is shared by the
      kernels of notebooks run side by side), removed when the kernel stops;
    * no SIGINT at shutdown: jupyter_client interrupts a kernel before asking it to shut down, and
      a kernel still handling a message then logs "ERROR | KeyboardInterrupt caught in kernel".
      Papermill shuts a kernel down only after its last cell has run: there is nothing to
      interrupt, and the shutdown request (then a kill, if it does not exit) stops it."""
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class BookKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def _ip_default(self) -> str:
            return os.path.join(tempfile.gettempdir(), f"swao-kernel-{uuid.uuid4().hex}-ipc")

        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return BookKernelManager


PAPER_SECTION = "paper-scale"  # the tag of a page's cells that show the paper-scale run of results/paper/


def paper_run() -> bool:
    """Whether ``results/paper/`` (``$SWAO_RESULTS/paper``) holds a paper-scale run (``swao reproduce --scale paper``)."""
    from swao.book.stages import results_root

    return any((results_root() / "paper").glob("*.json"))


def drop_empty_paper_sections(nb) -> None:
    """Without a paper-scale run, a page's paper-scale sections (cells tagged :data:`PAPER_SECTION`)
    would each say that there is none: they are left out of the executed notebook ``nb``, and the
    Reproduce page says it once (:func:`write_paper_scale_note`)."""
    if not paper_run():
        nb.cells = [c for c in nb.cells if PAPER_SECTION not in c.metadata.get("tags", [])]


PAPER_NOTE = "paper_scale.md"  # in the executed notebooks' folder; the Reproduce page includes it


def write_paper_scale_note(generated: Path) -> None:
    """The one place the book says whether a paper-scale run is shown: with none in
    ``results/paper/``, the pages leave their paper-scale sections out and this says so."""
    text = ("A paper-scale run made on a GPU is shown on each page, in its section \"At paper scale\", beside the "
            "CPU-scale results." if paper_run() else
            "**No paper-scale run is in `results/paper/` yet**, so the pages leave out their paper-scale sections; "
            "`swao reproduce --scale paper --device cuda` makes one on a GPU, and committed there it appears on every page "
            "without rerunning anything.")
    generated.mkdir(parents=True, exist_ok=True)
    (generated / PAPER_NOTE).write_text(text + "\n")


SCALES_TABLE = "scales.md"  # in the executed notebooks' folder; the Reproduce page includes it


MEASUREMENTS = "measurements.md"  # in the executed notebooks' folder; the Measurements page includes it


MEASUREMENTS_NOTE = (
    "# Measurements\n\nEvery speed, memory and timing figure this book cites, and the studies behind its recipe, as "
    "they were measured: each section names its machine, date and commit, and the command that remakes it. This page "
    "is `benchmarks/RESULTS.md` of the repository, copied in when the book is built; the section titles keep the "
    "history of the work that made them.\n\n")


def write_measurements(generated: Path) -> None:
    """``benchmarks/RESULTS.md`` into the book (the Measurements page), where the pages that cite
    it can link: copied at each build under the page's own title (the file's first heading
    dropped), so the book shows the file as committed."""
    lines = (ROOT / "benchmarks" / "RESULTS.md").read_text().splitlines(keepends=True)
    body = "".join(lines[1:] if lines and lines[0].startswith("# ") else lines)
    generated.mkdir(parents=True, exist_ok=True)
    (generated / MEASUREMENTS).write_text(MEASUREMENTS_NOTE + body)


def write_scales_table(generated: Path) -> None:
    """The Reproduce page's table of the three scales, written from their configurations
    (:func:`swao.training.config.get_config`, and :func:`swao.book.reproduce.run_config` for the
    paper scale as ``swao reproduce`` trims it), never typed."""
    from swao.book.reproduce import run_config
    from swao.training.config import get_config

    def training(c) -> str:
        epochs = f"{c.epochs:g} epoch{'s' if c.epochs != 1 else ''}"
        return f"{c.train_mlps:,} MLPs x {epochs} in batches of {c.batch_size:,} ({c.total_steps:,} steps)"

    what = {"smoke": "`smoke` (tests and nbval; seconds)", "small": "`small` (the default book, a CPU)",
            "paper": "`paper` (a GPU)"}
    rows = [(what[sc], get_config(sc)) for sc in SCALES]
    rows.append(("`paper` as `swao reproduce` runs it (10 minutes on one H100, estimated; `--full`: the row above)", run_config("paper")))
    lines = ["| scale (what for) | autoencoder training | Tables 1, 3 | search (Table 2) |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {training(c)} | {c.eval_mlps:,} test MLPs per encoder | {c.search_steps:,} steps on "
              f"{c.search_points:,}-point datasets, {c.restarts} restart{'s' if c.restarts != 1 else ''} |" for name, c in rows]
    generated.mkdir(parents=True, exist_ok=True)
    (generated / SCALES_TABLE).write_text("\n".join(lines) + "\n")


def page_parameters(nb: Path, scale: str, device: str) -> dict:
    """The parameters the book runs page ``nb`` with: ``scale`` and ``device``, each only where the
    page declares it (each one does something there)."""
    declared = parameter_names(nb)
    return {name: value for name, value in (("scale", scale), ("device", device)) if name in declared}


def rerun_command(nb: Path, params: dict) -> str:
    """The command that reruns a page from the repository's root, with the parameters it ran with."""
    given = "".join(f" -p {name} {value}" for name, value in params.items())
    return f"papermill {nb.relative_to(ROOT).as_posix()} {nb.stem}-rerun.ipynb -k python3 --cwd .{given}"


def repository() -> tuple[str, str] | None:
    """The public repository the book is built from, ``("owner/name", branch)``: ``_config.yml``'s
    ``repository.url`` (and ``branch``), else the CI's (``GITHUB_REPOSITORY``, ``GITHUB_REF_NAME``);
    ``None`` where neither says (never a made-up address)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text()).get("repository") or {}
    url = config.get("url") or (f"https://github.com/{os.environ['GITHUB_REPOSITORY']}" if os.environ.get("GITHUB_REPOSITORY") else "")
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", url)
    if not match:
        return None
    return match[1], config.get("branch") or os.environ.get("GITHUB_REF_NAME") or "main"


PAGE_TIMES = ROOT / "benchmarks" / "page_times.json"  # each page rerun alone, nothing cached (benchmarks/page_times.py)


def duration(seconds: float) -> str:
    """``14.2 s``, ``4 min 3 s``, ``1 h 2 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def measured_rerun_times(nb: Path, params: dict) -> str:
    """What the box says of a rerun of page ``nb`` alone from nothing cached (a fresh clone's
    first): the seconds ``benchmarks/page_times.py`` measured at each scale, with machine, commit
    and date, and the scales not measured. A page without a ``scale`` parameter runs the same at
    every scale: one measurement."""
    from swao.training.checkpoint import read_json

    times = read_json(PAGE_TIMES) if PAGE_TIMES.exists() else {}
    measured = {sc: e for sc, e in times.items() if nb.stem in e.get("seconds", {})}

    def quoted(e: dict) -> str:
        return f"{duration(e['seconds'][nb.stem])} ({e['machine']}, commit `{e['commit']}`, {e['date'][:10]})"

    def missing(sc: str) -> str:
        gpu = ("on a GPU, ", " --device cuda") if sc == "paper" else ("", "")
        return f"not measured yet ({gpu[0]}`python benchmarks/page_times.py --scale {sc}{gpu[1]}` measures it)"

    head = "Alone, from nothing cached (a fresh clone's first rerun)"
    if "scale" not in params:  # the same page at every scale
        return f"{head}, it took " + (quoted(next(iter(measured.values()))) if measured else missing("smoke")) + "."
    return f"{head}:\n\n" + "\n".join(f"- at `{sc}`: " + (quoted(measured[sc]) if sc in measured else missing(sc))
                                      for sc in SCALES)


def add_rerun_box(page, nb: Path, params: dict, seconds: float, at_once: int, computed: bool) -> None:
    """End the executed ``page`` (of source notebook ``nb``) with a "Rerun this page" box: the
    exact command, the time it took in this build (measured: its scale, machine, and whether it
    read cached results), the times measured for a rerun alone from nothing cached
    (:func:`measured_rerun_times`), and where to run it in the browser (:func:`launch`)."""
    import nbformat
    from swao.book.provenance import machine_name
    from swao.book.stages import NOTEBOOK_STAGES

    where = f"on {machine_name()}" + (f", {at_once} pages at once" if at_once > 1 else "")
    if nb.stem not in NOTEBOOK_STAGES:
        how = "reading no cached result (what it shows, it computes as it runs or reads from the committed results)"
    elif computed:
        how = "computing the results it reads that were not in the cache"
    else:
        how = ("reading results the build's compute stage had made first (a run whose results are not in the cache "
               "computes them, with progress bars; the compute stage's measured times are on the "
               "[measurements page](../measurements.md))")
    scale = f" at the `{params['scale']}` scale" if "scale" in params else ""
    text = ("```{admonition} Rerun this page\n:class: tip\n"
            "From the repository's root, with swao installed (`make venv`, or `pip install -e .`):\n\n"
            f"`{rerun_command(nb, params)}`\n\n"
            "adding `-p NAME VALUE` for any parameter of the block at the top of the page. "
            f"This build ran it in {seconds:.1f} s{scale} {where}, {how}.\n\n{measured_rerun_times(nb, params)}"
            f"\n\n{launch(nb)}\n```")
    page.cells.append(nbformat.v4.new_markdown_cell(text, metadata={"tags": ["rerun-box"]}))


def launch(nb: Path) -> str:
    """Where to run a page in the browser: Binder on the repository (:func:`repository`; its
    ``environment.yml`` installs swao and the committed results come with the clone), or why not."""
    repo = repository()
    if repo is None:
        return ("In the browser: Binder opens this page once the book is built from a public repository (by its CI, or "
                "with `repository: url:` in `_config.yml`).")
    name, branch = repo
    link = f"https://mybinder.org/v2/gh/{name}/{branch}?labpath={nb.relative_to(ROOT).as_posix().replace('/', '%2F')}"
    return (f"In the browser: [open this page in Binder]({link}) (the repository's `environment.yml` installs swao; "
            "set `scale = \"smoke\"` in the parameters cell for a run of seconds).")


def one_parameter_block(nb) -> None:
    """Render one parameter block, with the values the page ran with and what each does: papermill's
    injected cell gets every parameter (the source cell's defaults, overridden by the injected
    values, each with the source's comment) and the source ``parameters`` cell is hidden in the
    book (tag ``remove-cell``; it stays in the notebook, so nbval and a reader's rerun execute
    both, with the same effect). A page run with its defaults (nothing injected) shows its source
    cell so written. ``nb``: the executed notebook, changed in place."""
    source = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    injected = next((c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])), None)
    if source is None:
        return
    comments = {name: comment for name, _, comment in _assignments(source.source)}
    values = {name: value for name, value, _ in _assignments(source.source)}
    values.update({name: value for name, value, _ in _assignments(injected.source)} if injected else {})
    block = "# Parameters (the values this page was run with; papermill -p NAME VALUE changes them)\n" + "\n".join(
        f"{name} = {value}" + (f"  # {comments[name]}" if comments.get(name) else "") for name, value in values.items())
    if injected is None:
        source.source = block
        source.metadata["tags"] = [t for t in source.metadata.get("tags", []) if t != "hide-input"]
    else:
        injected.source = block
        source.metadata.setdefault("tags", []).append("remove-cell")


ASSIGNMENT = re.compile(r"^(\w+)\s*=\s*(.*?)\s*(?:#\s*(.*))?$")  # name = value  # what it does


def _assignments(source: str) -> list[tuple[str, str, str]]:
    """A parameters cell's ``(name, value, comment)`` per assignment line (comment ``""`` if none)."""
    found = [ASSIGNMENT.match(line.strip()) for line in source.splitlines() if not line.lstrip().startswith("#")]
    return [(m[1], m[2], m[3] or "") for m in found if m]


def parameter_names(nb: Path) -> set[str]:
    """The names the parameters cell of source notebook ``nb`` assigns (none without one)."""
    import nbformat

    for cell in nbformat.read(nb, as_version=4).cells:
        if "parameters" in cell.metadata.get("tags", []):
            return {name for name, _, _ in _assignments(cell.source)}
    return set()


SUMMARY = "findings_summary.md"  # in the executed notebooks' folder; the intro includes it


def write_findings_summary(generated: Path) -> None:
    """The top of the intro: the findings page's summary (the markdown output of its cell tagged
    ``findings-summary``), taken from the executed notebook, never recomputed or typed."""
    import nbformat

    text = "The findings page has not been executed yet: `make book` runs it."
    page = generated / "08_findings.ipynb"
    if page.exists():
        for cell in nbformat.read(page, as_version=4).cells:
            if "findings-summary" in cell.metadata.get("tags", []):
                text = next((o["data"]["text/markdown"] for o in cell.get("outputs", [])
                             if "text/markdown" in o.get("data", {})), text)
    generated.mkdir(parents=True, exist_ok=True)
    (generated / SUMMARY).write_text(text + "\n")


def build_html(out: Path, book_dir: Path = ROOT / "book") -> None:
    write_findings_summary(book_dir / "generated")
    write_paper_scale_note(book_dir / "generated")
    write_scales_table(book_dir / "generated")
    write_measurements(book_dir / "generated")
    start = time.perf_counter()
    print("[book] jupyter-book build ...", flush=True)
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(book_dir),
        "--config", str(ROOT / "_config.yml"), "--toc", str(ROOT / "_toc.yml"), "--path-output", str(out),
        "-W", "-n", "--keep-going", "--quiet"]
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"[book] jupyter-book build failed (exit {result.returncode})")
    print(f"[book] jupyter-book build: {time.perf_counter() - start:6.1f} s -> {out / '_build' / 'html' / 'intro.html'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", choices=SCALES)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(ROOT), help="folder that receives _build/html (default: the repo)")
    parser.add_argument("--only", nargs="*", help="run only these notebooks (stems); others keep their last output")
    parser.add_argument("--skip-notebooks", action="store_true", help="render the last executed notebooks again")
    parser.add_argument("--book-dir", default=str(ROOT / "book"), help="the book's pages (the toc's paths are relative to it)")
    parser.add_argument("--dest", help="folder for the executed notebooks (default: BOOK_DIR/generated)")
    parser.add_argument("--no-html", action="store_true", help="only run the notebooks (e.g. to refresh tests/notebooks)")
    args = parser.parse_args(argv)
    total = time.perf_counter()
    if not args.skip_notebooks:
        compute_results(args.scale, args.device, args.only)
        run_notebooks(args.scale, Path(args.dest or Path(args.book_dir) / "generated"), args.device, args.only)
    if not args.no_html:
        build_html(Path(args.out), Path(args.book_dir))
    print(f"[book] total: {time.perf_counter() - total:6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
