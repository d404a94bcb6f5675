"""The local Dask cluster of chapter 9 (``cluster``): real scheduler and worker processes, stopped afterwards."""

from __future__ import annotations

import os
import socket

import pytest

from digitlab import cluster, distributed


@pytest.mark.slow
def test_the_cluster_runs_tasks_in_worker_processes_and_stops(tmp_path):
    from dask.distributed import Client

    with cluster.local_cluster(workers=2, threads=1) as address:
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        assert host == "127.0.0.1"
        with Client(address) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            pids = set(client.gather([client.submit(os.getpid, pure=False) for _ in range(8)]))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # other processes than this one
    with pytest.raises(OSError):  # the scheduler is gone: nothing listens on its port any more
        socket.create_connection((host, int(port)), timeout=1).close()


@pytest.mark.slow
def test_a_member_trains_the_same_in_a_worker_and_here(tmp_path):
    pytest.importorskip("torch")
    from dask.distributed import Client

    from digitlab import data, torch_ddp

    splits = torch_ddp.save_data(tmp_path / "d.npz", data.load_mnist(validation=torch_ddp.VALIDATION), 600)
    here = cluster.train_member(3, data=splits, epochs=1, batch=64)
    with cluster.local_cluster(workers=1) as address, Client(address) as client:
        there = client.submit(cluster.train_member, 3, data=splits, epochs=1, batch=64).result()
    assert here["checksum"] == there["checksum"] and here["test_accuracy"] == there["test_accuracy"]
    assert here["proba"].shape == (len(data.load_mnist().y_test), 10)
    other = cluster.train_member(4, data=splits, epochs=1, batch=64)
    assert other["checksum"] != here["checksum"]  # the seed matters


def test_bad_clusters_are_refused():
    with pytest.raises(ValueError, match=r"workers=\d+ x threads=1 is more tasks at once than this machine"):
        with cluster.local_cluster(workers=distributed.cores() + 1):
            pass
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        with cluster.local_cluster(workers=0):
            pass
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        cluster.train_member(-1)
