"""Data-parallel training (``distributed``, ``torch_ddp``): real gloo processes on the CPU.

The all-reduce test runs two processes under ``torchrun`` and checks what DDP promises: after one
step on its half of a batch, each process holds the weights one process gets from the whole batch.
The resume test kills a run after its first checkpoint and checks that the resumed run ends with
the very weights of a run never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from digitlab import distributed

# Each rank steps once on its half of a 16-image batch; rank 0 also steps alone on the whole batch.
ALL_REDUCE = textwrap.dedent(
    """
    import sys, torch, torch.distributed as dist
    from digitlab import torch_ddp, torch_train
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
    torch.manual_seed(rank)  # different first weights: DDP must copy rank 0's to every process
    model = torch_ddp.small_net()
    ddp = DistributedDataParallel(model)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    torch_ddp.train_shard(ddp, x, y, torch.optim.SGD(model.parameters(), lr=0.5), epoch=0, global_batch=16)
    out = {"ddp": model.state_dict(), "first": first, "half": torch_ddp.shard(16, 2, rank, 0)}
    if rank == 0:  # one process, no group: the whole batch, then rank 0's half only
        for name, part in (("alone", slice(None)), ("half_only", out["half"])):
            alone = torch_ddp.small_net()
            alone.load_state_dict(first)
            sgd = torch.optim.SGD(alone.parameters(), lr=0.5)
            torch_train.train_epoch(alone, x[part], y[part], sgd, batch_size=16)
            out[name] = alone.state_dict()
    torch.save(out, f"{sys.argv[1]}/rank{rank}.pt")
    dist.destroy_process_group()
    """
)


def torchrun(nproc: int, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args]
    env = distributed._env()
    done = subprocess.run(run, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_ddp_averages_the_gradients_of_the_two_halves(tmp_path):
    torch = pytest.importorskip("torch")
    script = tmp_path / "all_reduce.py"
    script.write_text(ALL_REDUCE)
    torchrun(2, [str(script), str(tmp_path)])
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert sorted(torch.cat([r0["half"], r1["half"]]).tolist()) == list(range(16))  # two disjoint halves
    for name, weight in r0["ddp"].items():
        assert torch.equal(weight, r1["ddp"][name]), f"{name}: the two processes disagree"
        assert torch.allclose(weight, r0["alone"][name], atol=1e-6), f"{name}: not the whole batch's step"
        assert not torch.equal(weight, r0["first"][name]), f"{name}: the step changed nothing"
    # and the test can tell: a step on rank 0's half alone lands elsewhere
    assert not all(torch.allclose(w, r0["half_only"][k], atol=1e-4) for k, w in r0["ddp"].items())


def ddp_args(out, epochs: int, *more: str) -> list[str]:
    return ["-m", "digitlab.torch_ddp", "--out", str(out), "--epochs", str(epochs), "--train", "2000",
            "--global-batch", "32", "--probe-steps", "0", *more]  # fmt: skip


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_checkpoint_and_loses_nothing(tmp_path):
    epochs = 8
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    torchrun(2, ddp_args(whole, epochs))
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    process = subprocess.Popen(
        [*run, *ddp_args(killed, epochs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=distributed._env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint.pt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the agent, mid-way; its ranks die with it (die_with_launcher)
    process.wait()
    time.sleep(1)  # what a surviving rank would still write
    assert not (killed / "result.json").exists(), "the run finished before it could be killed"
    torchrun(2, ddp_args(killed, epochs, "--resume"))
    a, b = (json.loads((d / "result.json").read_text()) for d in (whole, killed))
    assert 1 <= b["resumed_from"] < epochs
    assert len(b["loss"]) == epochs - b["resumed_from"]
    assert b["loss"] == a["loss"][b["resumed_from"] :]
    assert b["checksum"] == a["checksum"], "the resumed run does not end with the uninterrupted run's weights"
    assert a["resumed_from"] is None and a["val_accuracy"] == b["val_accuracy"]


def test_more_processes_than_cores_is_refused():
    with pytest.raises(ValueError, match=r"nproc=\d+ x 1 node\(s\) asks for \d+ training processes"):
        distributed.check_processes(distributed.cores() + 1)
    with pytest.raises(ValueError, match="x 2 node"):
        distributed.start(distributed.cores(), ["--out", "x"], nodes_here=2, nnodes=2, endpoint="127.0.0.1:1")
    assert distributed.check_processes(1) == 1


def test_an_unreachable_rendezvous_fails_within_its_timeout():
    endpoint = f"127.0.0.1:{distributed.free_port()}"  # nobody listens there
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"no rendezvous answered at {endpoint} within 1 s"):
        distributed.start(1, ["--out", "x"], nnodes=2, node_rank=1, endpoint=endpoint, timeout=1)
    assert time.monotonic() - start < 5


def test_the_command_lines_are_torchruns():
    single = distributed.command(2, ["--epochs", "1"])
    assert single[1:4] == ["-m", "torch.distributed.run", "--nproc-per-node=2"] and "--standalone" in single
    assert single[-4:] == ["-m", "digitlab.torch_ddp", "--epochs", "1"]
    node = distributed.command(1, [], nnodes=2, node_rank=1, endpoint="10.0.0.5:29400", timeout=7)
    assert "--rdzv-backend=c10d" in node and "--rdzv-endpoint=10.0.0.5:29400" in node
    assert "--node-rank=1" in node and "--rdzv-conf=is_host=0,join_timeout=7,read_timeout=7" in node
    with pytest.raises(ValueError, match="needs endpoint"):
        distributed.command(1, [], nnodes=2)
    with pytest.raises(ValueError, match="node_rank must be below nnodes=2"):
        distributed.command(1, [], nnodes=2, node_rank=2, endpoint="h:1")
    with pytest.raises(ValueError, match="endpoint must be 'host:port'"):
        distributed.wait_for("localhost")


def test_a_checkpoint_round_trips_and_is_written_atomically(tmp_path):
    torch = pytest.importorskip("torch")
    from digitlab import torch_ddp, torch_train

    model = torch_ddp.small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch_train.make_schedule(optimizer, "onecycle", 0.1, 2, 5)
    x, y = torch.rand(20, 1, 28, 28), torch.randint(0, 10, (20,))
    torch_train.train_epoch(model, x, y, optimizer, batch_size=4, scheduler=scheduler)
    path = distributed.save_checkpoint(tmp_path / "c.pt", model, optimizer, scheduler, 1, note="x")
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    other = torch_ddp.small_net()
    opt2 = torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    sched2 = torch_train.make_schedule(opt2, "onecycle", 0.1, 2, 5)
    state = distributed.load_checkpoint(path, other, opt2, sched2)
    assert state["epoch"] == 1 and state["note"] == "x"
    assert torch_ddp.checksum(other) == torch_ddp.checksum(model)
    assert sched2.get_last_lr() == scheduler.get_last_lr()
    assert opt2.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()
    with pytest.raises(FileNotFoundError, match="path must be an existing checkpoint"):
        distributed.load_checkpoint(tmp_path / "none.pt", other, opt2)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0"):
        distributed.save_checkpoint(tmp_path / "d.pt", model, optimizer, scheduler, -1)


def test_each_epoch_splits_the_images_afresh():
    pytest.importorskip("torch")
    from digitlab import torch_ddp

    a0, a1 = torch_ddp.shard(10, 2, 0, 0), torch_ddp.shard(10, 2, 1, 0)
    assert sorted(a0.tolist() + a1.tolist()) == list(range(10))
    assert torch_ddp.shard(10, 2, 0, 1).tolist() != a0.tolist()  # set_epoch changed the split
    assert torch_ddp.shard(10, 2, 0, 0).tolist() == a0.tolist()  # and the same epoch gives the same one
    assert len(torch_ddp.shard(11, 2, 1, 0)) == 6  # padded: every process takes as many steps


def test_a_run_past_its_timeout_is_killed_and_reported(tmp_path):
    log = tmp_path / "sleep.log"
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
        stdout=log.open("w"),
        start_new_session=True,
    )
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"torchrun failed \(killed after the timeout\)"):
        distributed.finish(process, log, timeout=1)
    assert process.poll() is not None and time.monotonic() - start < 10
