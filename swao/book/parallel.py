"""Work of the compute stage run several at once, each part in a process of its own.

On a CPU of a few cores, the book's parts are small (convolutions of 16-64 channels, MLPs of 7
neurons): one process cannot keep two cores busy, and two threads of one process wait for each
other at every operator. Independent parts (the autoencoders, the search of each MLP type) run
instead in as many fresh processes as there are cores, one thread each (benchmarks/RESULTS.md,
"Book speed"). A part's numbers do not depend on it: each part fixes its own thread count.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import torch

from swao.method import progress as bars
from swao.training.config import resolve_device


def processes_for(device, parts: int) -> int:
    """How many processes run ``parts`` independent parts on ``device``: one per CPU core, at most
    one per part; one on a GPU (its kernels already run asynchronously)."""
    if resolve_device(device).type != "cpu":
        return 1
    return max(1, min(os.cpu_count() or 1, parts))


def _worker(rows, threads: int) -> None:  # a worker's initializer: its threads and its line for the progress bars
    torch.set_num_threads(threads)
    bars.take_row(rows.get())


def at_once(jobs: list[tuple], processes: int) -> list:
    """``[fn(*args) for fn, *args in jobs]``, ``processes`` at a time, each job in a fresh
    (spawned) process of ``cores // processes`` threads with a line of its own for its progress
    bars; the results in the jobs' order; a job's error is raised here. With fewer than two
    processes or jobs, the jobs run here, one after the other. Each ``fn`` must be a module's
    function, and a script that calls this needs the ``if __name__ == "__main__":`` guard
    (a spawned process imports the script)."""
    if processes < 2 or len(jobs) < 2:
        return [fn(*args) for fn, *args in jobs]
    processes = min(processes, len(jobs))
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited from a notebook or a test
    rows = context.Queue()
    for row in range(processes):
        rows.put(row)
    threads = max(1, (os.cpu_count() or 1) // processes)
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_worker, initargs=(rows, threads)) as pool:
        futures = [pool.submit(*job) for job in jobs]
        return [f.result() for f in futures]


__all__ = ["processes_for", "at_once"]
