"""Many independent trainings on a Dask cluster (chapter 9): a real local cluster, and the training each task runs.

``local_cluster`` starts ``dask scheduler`` and ``dask worker`` as processes of their own, listening
on 127.0.0.1 only, waits until the workers have joined, and stops them all on leaving (also after
an error). ``Client(address)`` is then the one line that changes for a remote cluster.
``train_member`` is one task: chapter 9's small network trained by ``torch_train.fit``, the book's
one loop, with one thread, so that the same call gives the same weights in a worker and in the
notebook. Importing this module imports neither Dask nor PyTorch.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

from digitlab import _validation as check

HOST = "127.0.0.1"


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _stop(processes: list[subprocess.Popen], grace: float = 2.0) -> None:
    """Ask every process to stop, then kill those still running after ``grace`` seconds (they hold no state)."""
    for process in reversed(processes):  # workers first, the scheduler last
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def local_cluster(
    workers: int = 2, threads: int = 1, port: int | None = None, timeout: float = 60
) -> Iterator[str]:
    """Start a scheduler and ``workers`` worker processes on this machine; yield the scheduler's address.

    Each worker runs ``threads`` tasks at a time. Everything is stopped on leaving the ``with``.
    """
    from digitlab import distributed

    check.positive_int("workers", workers)
    check.positive_int("threads", threads)
    check.positive("timeout", timeout)
    if workers * threads > distributed.cores():
        raise ValueError(
            f"workers={workers} x threads={threads} is more tasks at once than this machine's "
            f"{distributed.cores()} core(s)"
        )
    port = port or distributed.free_port()
    address = f"tcp://{HOST}:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(_dask("scheduler", "--host", HOST, "--port", str(port), "--no-dashboard"), **quiet)
    ]
    try:
        distributed.wait_for(f"{HOST}:{port}", timeout)
        worker = ("worker", address, "--nthreads", str(threads), "--no-nanny", "--no-dashboard")
        worker += ("--host", HOST, "--memory-limit", "0")
        processes += [subprocess.Popen(_dask(*worker), **quiet) for _ in range(workers)]
        _wait_for_workers(address, workers, timeout, processes)
        yield address
    finally:
        _stop(processes)


def _wait_for_workers(address: str, n: int, timeout: float, processes: list[subprocess.Popen]) -> None:
    from dask.distributed import Client

    with Client(address, timeout=timeout) as client:
        deadline = time.monotonic() + timeout
        while len(client.scheduler_info()["workers"]) < n:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"a process of the local cluster at {address} exited while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the local cluster at {address} did not get its {n} workers within {timeout:g} s"
                )
            time.sleep(0.1)


def train_member(
    seed: int, *, data=None, lr: float = 0.1, epochs: int = 1, train: int = 0, batch: int = 128
) -> dict:
    """Train chapter 9's network from ``seed`` with ``torch_train.fit`` on one thread; accuracies and test probabilities.

    ``data`` is an .npz from ``torch_ddp.save_data`` (default: ``data.load_mnist``). The same arguments
    give the same result in a Dask worker and in this process.
    """
    import torch

    from digitlab import data as mnist_data
    from digitlab import runtime, torch_ddp, torch_train

    check.int_at_least("seed", seed, 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runtime.seed_everything(seed)
        mnist = torch_ddp.load_data(data) if data else mnist_data.load_mnist(validation=torch_ddp.VALIDATION)
        if train:
            mnist.x_train, mnist.y_train = mnist.x_train[:train], mnist.y_train[:train]
        model = torch_ddp.small_net()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        start = time.perf_counter()
        history = torch_train.fit(
            model, mnist, epochs, optimizer=optimizer, lr=lr, batch_size=batch, seed=seed,
            device="cpu", precision="float32", channels_last=False, verbose=False,
        )  # fmt: skip
        proba = torch_train.predict_proba(model, mnist.x_test)
    finally:
        torch.set_num_threads(threads)
    return {
        "seed": seed,
        "lr": lr,
        "val_accuracy": history["val_accuracy"][-1],
        "test_accuracy": float((proba.argmax(1) == mnist.y_test).mean()),
        "checksum": torch_ddp.checksum(model),
        "seconds": time.perf_counter() - start,
        "proba": proba,
    }
