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
    import papermill as pm
    from swao.book.cache import NO_COMPUTE
    from swao.book.parallel import processes_for

    dest.mkdir(parents=True, exist_ok=True)
    todo = [nb for nb in NOTEBOOKS if not only or nb.stem in only]

    def execute(nb: Path) -> None:
        start = time.perf_counter()
        params = {"scale": scale}
        if "device" in _parameter_names(nb):
            params["device"] = device
        tmp = dest / f".tmp-{nb.name}"
        try:
            pm.execute_notebook(str(nb), str(tmp), parameters=params, kernel_name="python3", cwd=str(ROOT),
                                progress_bar=False, log_output=compute, kernel_manager_class=book_kernel_manager())
        except pm.PapermillExecutionError as err:
            raise SystemExit(f"[book] {nb.stem} failed: {err.ename}: {err.evalue}\n"
                             f"[book] the executed notebook with the error: {tmp}") from None
        one_parameter_block(tmp)
        drop_empty_paper_sections(tmp)
        os.replace(tmp, dest / nb.name)
        print(f"[book] {nb.stem}: {time.perf_counter() - start:6.1f} s", flush=True)

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


def drop_empty_paper_sections(path: Path) -> None:
    """Without a paper-scale run, a page's paper-scale sections (cells tagged :data:`PAPER_SECTION`)
    would each say that there is none: they are left out of the executed notebook, and the
    Reproduce page says it once (:func:`write_paper_scale_note`)."""
    import nbformat

    if paper_run():
        return
    nb = nbformat.read(path, as_version=4)
    kept = [c for c in nb.cells if PAPER_SECTION not in c.metadata.get("tags", [])]
    if len(kept) != len(nb.cells):
        nb.cells = kept
        nbformat.write(nb, path)


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


def one_parameter_block(path: Path) -> None:
    """Render one parameter block, with the values the page ran with: papermill's injected cell
    gets every parameter (the source cell's defaults, overridden by the injected values) and the
    source ``parameters`` cell is hidden in the book (tag ``remove-cell``; it stays in the
    notebook, so nbval and a reader's rerun execute both, with the same effect)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    source = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    injected = next((c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])), None)
    if source is None or injected is None:
        return
    values = dict(_assignments(source.source))
    values.update(_assignments(injected.source))
    injected.source = "# Parameters (the values this page was run with; papermill -p NAME VALUE changes them)\n" + "\n".join(
        f"{name} = {value}" for name, value in values.items())
    source.metadata.setdefault("tags", []).append("remove-cell")
    nbformat.write(nb, path)


def _assignments(source: str) -> list[tuple[str, str]]:
    return [(line.split("=", 1)[0].strip(), line.split("=", 1)[1].strip()) for line in source.splitlines()
            if "=" in line and not line.lstrip().startswith("#")]


def _parameter_names(nb: Path) -> set[str]:
    import nbformat

    for cell in nbformat.read(nb, as_version=4).cells:
        if "parameters" in cell.metadata.get("tags", []):
            return {name for name, _ in _assignments(cell.source)}
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
