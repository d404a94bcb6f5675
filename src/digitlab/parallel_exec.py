"""Execute the chapters a build needs several at a time, into the jupyter-cache that MyST-NB reads.

MyST-NB executes a book's notebooks one after another while Sphinx reads them. A quick-mode chapter
is mostly fixed cost (a kernel, the TensorFlow and PyTorch imports, loading MNIST), work that uses
one core, so on a 2-core machine two chapters side by side finish sooner than the same two in turn.
``execute`` runs jupyter-cache's own execution worker (the one behind ``jcache project execute
--executor local-parallel``) on the chapters that have no cached execution, ``jobs`` at a time,
each kernel limited to its share of the cores; the build then finds every one of them in the cache
and executes nothing. A chapter that fails here is left uncached: the build executes it again and
reports the error as it always does. A chapter that could not run at all (its kernel did not start,
or the cache database was busy: jupyter-cache's status 2, not a cell's error) is tried once more,
alone, after the others.

Use it for quick mode (``make preview``, ``make test-site``) only: chapters executed side by side
measure their seconds under each other's load, and the full build prints timings readers compare.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from pathlib import Path

from digitlab import settings

DEFAULT_TIMEOUT = 1800  # seconds per cell, when _config.yml names none (as MyST-NB's "timeout")


def cell_timeout(root: Path) -> int:
    """The per-cell timeout the build uses: ``execute.timeout`` in ``root/_config.yml``."""
    from digitlab.buildcache import read_config

    execute = read_config(Path(root) / "_config.yml").get("execute") or {}
    return int(execute.get("timeout", DEFAULT_TIMEOUT))


def _start_worker(threads: int) -> None:
    """A pool worker: its share of the cores, and jupyter-cache's errors printed rather than dropped."""
    settings.limit_threads(threads)
    multiprocessing.log_to_stderr(logging.ERROR)


def _execute_one(data) -> tuple[int, str, float]:
    """Run jupyter-cache's local worker on one project notebook: (status, uri, seconds).

    Status as jupyter-cache gives it: 0 executed and cached, 1 a cell raised, 2 could not run.
    """
    from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc

    start = time.perf_counter()
    status, uri = ExecutionWorkerLocalMProc()(data)
    return status, uri, time.perf_counter() - start


def execute(
    cache_folder: str | Path,
    notebooks: list[Path],
    jobs: int,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    out=print,
) -> list[str]:
    """Execute ``notebooks`` ``jobs`` at a time into the jupyter-cache at ``cache_folder``; return the names cached.

    Each kernel gets ``cpu_count // jobs`` threads (OMP, MKL, OpenBLAS, TensorFlow), so that the
    chapters side by side do not oversubscribe the cores.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    notebooks = [Path(p).resolve() for p in notebooks if Path(p).suffix == ".ipynb"]
    if not notebooks:
        return []
    from jupyter_cache import get_cache
    from jupyter_cache.executors.basic import ProcessData

    cache = get_cache(str(cache_folder))
    work = [
        ProcessData(record.pk, record.uri, cache, timeout, False)
        for record in (cache.add_nb_to_project(str(path)) for path in notebooks)
    ]
    jobs = min(jobs, len(work))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    out(f"executing {len(work)} chapters, {jobs} at a time, {threads} thread{'s' * (threads > 1)} each")
    start, status_of = time.perf_counter(), {}

    def report(status: int, uri: str, seconds: float) -> None:
        status_of[uri] = status
        name = Path(uri).stem
        if status == 0:
            out(f"{name}: executed in {seconds:.0f} s")
        elif status == 1:
            out(f"{name}: a cell failed after {seconds:.0f} s; the build executes it again and reports why")
        else:
            out(f"{name}: could not run ({seconds:.0f} s; jupyter-cache's error is above)")

    with multiprocessing.Pool(jobs, initializer=_start_worker, initargs=(threads,)) as pool:
        for result in pool.imap_unordered(_execute_one, work, chunksize=1):
            report(*result)
        for data in [d for d in work if status_of[d.uri] == 2]:  # no kernel, a busy database: once more
            out(f"{Path(data.uri).stem}: trying again, alone")
            report(*pool.apply(_execute_one, (data,)))
    cached = [Path(uri).stem for uri, status in status_of.items() if status == 0]
    out(f"{len(cached)} of {len(work)} chapters executed in {time.perf_counter() - start:.0f} s")
    return cached
