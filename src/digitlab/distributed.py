"""Data-parallel training from a notebook cell: ``torchrun`` launches, checkpoints and their checks (chapter 9).

``launch`` runs ``python -m torch.distributed.run`` (the module behind ``torchrun``) on
``digitlab.torch_ddp``, the script whose processes train one network together, and reads the JSON
that its rank 0 writes. ``start`` runs one "node" of a multi-node run without waiting, so that a cell
can start two nodes on one machine, and ``wait_for`` checks that a rendezvous answers within a
timeout. ``save_checkpoint`` and ``load_checkpoint`` keep a run's whole state (model, optimizer,
scheduler, epoch) in one file, written atomically. PyTorch is imported only by the checkpoint
functions.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from digitlab import _io
from digitlab import _validation as check

SCRIPT = "digitlab.torch_ddp"
HOST = "127.0.0.1"  # every process of the book's runs listens on this machine only


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_processes(nproc: int, nodes_here: int = 1) -> int:
    """``nproc`` per node, checked: ``nodes_here`` nodes on this machine must not need more processes than cores."""
    check.positive_int("nproc", nproc)
    check.positive_int("nodes_here", nodes_here)
    wanted, have = nproc * nodes_here, cores()
    if wanted > have:
        raise ValueError(
            f"nproc={nproc} x {nodes_here} node(s) asks for {wanted} training processes on this machine, "
            f"which has {have} core(s): on a CPU each process needs a core of its own. Use nproc <= "
            f"{max(1, have // nodes_here)} (on GPUs: one process per GPU)."
        )
    return nproc


def free_port() -> int:
    """A TCP port on ``HOST`` that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(endpoint: str, timeout: float = 20.0) -> None:
    """Return once something listens at ``endpoint`` ("host:port"); raise ``ConnectionError`` after ``timeout`` s."""
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"endpoint must be 'host:port', got {endpoint!r}")
    check.positive("timeout", timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise ConnectionError(
                    f"no rendezvous answered at {endpoint} within {timeout:g} s ({error}): start node 0 "
                    "first, and check the address, the port and the firewall between the machines"
                ) from None
            time.sleep(0.1)


def command(
    nproc: int,
    args: list[str],
    *,
    nnodes: int = 1,
    node_rank: int = 0,
    endpoint: str | None = None,
    timeout: float = 20.0,
) -> list[str]:
    """The ``torchrun`` command line (as ``python -m torch.distributed.run``) that trains with ``torch_ddp`` ``args``.

    One node uses a standalone rendezvous; several use ``c10d`` at ``endpoint``, hosted by node 0.
    """
    check.positive_int("nnodes", nnodes)
    check.int_at_least("node_rank", node_rank, 0)
    if node_rank >= nnodes:
        raise ValueError(f"node_rank must be below nnodes={nnodes}, got {node_rank}")
    run = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}"]
    if nnodes == 1 and endpoint is None:
        run += ["--standalone"]
    else:
        if endpoint is None:
            raise ValueError("a multi-node run needs endpoint='host:port', the address of node 0")
        conf = f"is_host={int(node_rank == 0)},join_timeout={timeout:g},read_timeout={timeout:g}"
        run += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", "--rdzv-backend=c10d"]
        run += [f"--rdzv-endpoint={endpoint}", f"--rdzv-conf={conf}", "--max-restarts=0"]
    return [*run, "-m", SCRIPT, *args]


def _env() -> dict[str, str]:
    """The processes' environment: one thread each, so that each process has a core of its own.

    A second thread per process made a small step many times slower on a busy 2-core machine.
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.setdefault("GLOO_SOCKET_IFNAME", "lo" if sys.platform.startswith("linux") else "lo0")
    env.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    return env


def start(
    nproc: int,
    args: list[str],
    *,
    nodes_here: int = 1,
    log: Path | None = None,
    check_rendezvous=True,
    **options,
):
    """Start ``torchrun`` for one node without waiting (``subprocess.Popen``, output to ``log``); see ``command``.

    A node other than node 0 first checks that the rendezvous answers (``wait_for``), unless
    ``check_rendezvous`` is False; torchrun then gives up after ``timeout`` seconds itself.
    """
    check_processes(nproc, nodes_here)
    if check_rendezvous and options.get("node_rank", 0) > 0:
        wait_for(options["endpoint"], options.get("timeout", 20.0))
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    try:
        return subprocess.Popen(
            command(nproc, args, **options),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,  # one process group: a kill reaches every rank
        )
    finally:
        if log:
            out.close()


def finish(process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait for a started node; raise ``RuntimeError`` with the end of its log if it failed or ran past ``timeout``."""
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(process)
        code = "killed after the timeout"
    except BaseException:  # an interrupted cell stops its training too
        kill(process)
        raise
    if code != 0:
        tail = "\n".join(Path(log).read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"torchrun failed ({code}); the end of its output:\n{tail}")


def launch(
    nproc: int, out: str | os.PathLike, args: list[str] = (), *, timeout: float = 300.0, **options
) -> dict:
    """Run ``torch_ddp`` on ``nproc`` processes with ``torchrun``, writing into ``out``; return its ``result.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"torchrun-node{options.get('node_rank', 0)}.log"
    finish(start(nproc, ["--out", str(out), *args], log=log, **options), log, timeout)
    return json.loads((out / "result.json").read_text())


def launch_nodes(nnodes: int, nproc: int, out, args: list[str] = (), *, timeout: float = 300.0) -> dict:
    """Run ``nnodes`` "nodes" of ``nproc`` processes each on this machine, with a ``c10d`` rendezvous; rank 0's result.

    Every node is the command a separate machine would run, only with 127.0.0.1 as node 0's address.
    If any node fails, all are stopped.
    """
    check.positive_int("nnodes", nnodes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    endpoint, nodes = f"{HOST}:{free_port()}", []
    try:
        for rank in range(nnodes):
            log = out / f"torchrun-node{rank}.log"
            options = {"nnodes": nnodes, "node_rank": rank, "endpoint": endpoint, "timeout": min(timeout, 60)}
            node = start(
                nproc,
                ["--out", str(out), *args],
                nodes_here=nnodes,
                log=log,
                check_rendezvous=False,
                **options,
            )
            nodes.append((node, log))
        for process, log in nodes:
            finish(process, log, timeout)
    finally:
        for process, _ in nodes:
            kill(process)
    return json.loads((out / "result.json").read_text())


def kill(process: subprocess.Popen) -> None:
    """Kill a started node at once, as a failing machine would: its launcher, and with it its ranks."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def save_checkpoint(path, model, optimizer, scheduler, epoch: int, **extra) -> Path:
    """Write the state a run needs to go on after ``epoch`` into ``path``, atomically (never half a file)."""
    import torch

    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": check.int_at_least("epoch", epoch, 0),
        **extra,
    }
    return _io.atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path, model, optimizer, scheduler=None) -> dict:
    """Restore model, optimizer and scheduler from ``path`` in place; return the whole state (its ``epoch`` done)."""
    import torch

    path = check.existing_file("path", path, "checkpoint")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    return state
