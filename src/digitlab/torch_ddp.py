"""The script ``torchrun`` runs in chapter 9: one network trained by several processes with ``DistributedDataParallel``.

``python -m torch.distributed.run --nproc-per-node=2 --standalone -m digitlab.torch_ddp --out DIR``
(``distributed.launch`` builds that line). Each process joins the group (gloo on a CPU; nccl, one GPU per
process, with ``--backend nccl``), builds the same network from the same seed, and trains it with ``torch_train.train_epoch``,
the book's one loop, on its share of each epoch (``DistributedSampler`` with ``set_epoch``) at a
batch of ``global_batch / world`` per process. ``DistributedDataParallel`` averages the gradients
in the backward pass. Rank 0 alone evaluates and writes: a checkpoint after every epoch (a restart
with ``--resume`` goes on from it) and ``result.json``. At the end every rank times a few steps
with and without the all-reduce (``no_sync``): the difference is what communication costs.
Imports PyTorch.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from digitlab import _io, data, distributed, torch_train
from digitlab import _validation as check
from digitlab.torch_cnn import FastNet, as_images, as_labels

VALIDATION = 1000  # training images held out to validate on


def small_net() -> FastNet:
    """The chapter's network: chapter 4b's ``FastNet``, narrow and without BatchNorm (no per-process statistics)."""
    return FastNet(batch_norm=False, widths=(8, 16), hidden=64)


def save_data(path, mnist: data.MNIST, train: int = 0) -> Path:
    """Write ``mnist`` (its first ``train`` training images, 0: all) to ``path``, an .npz that every process loads fast."""
    n = train or len(mnist.y_train)
    splits = {"x_train": mnist.x_train[:n], "y_train": mnist.y_train[:n]}
    splits |= {k: getattr(mnist, k) for k in ("x_val", "y_val", "x_test", "y_test")}
    return _io.atomic_write(path, lambda f: np.savez(f, **splits))


def load_data(path) -> data.MNIST:
    """The splits ``save_data`` wrote, as a ``data.MNIST``."""
    with np.load(check.existing_file("data", path, ".npz file of MNIST splits")) as f:
        return data.MNIST(*(f[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")))


def shard(n: int, world: int, rank: int, epoch: int, seed: int = 0) -> torch.Tensor:
    """The indices of ``n`` images that ``rank`` trains on in ``epoch``: a fresh split every epoch (``set_epoch``)."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)  # without it, every epoch would split the images the same way
    return torch.tensor(list(sampler))


def train_shard(
    model, x, y, optimizer, *, epoch: int, global_batch: int, seed: int = 0, scheduler=None
) -> float:
    """One epoch of this process's share of (x, y) with ``torch_train.train_epoch``; the mean loss over all processes."""
    world, rank = (dist.get_world_size(), dist.get_rank()) if dist.is_initialized() else (1, 0)
    if global_batch % world:
        raise ValueError(f"global_batch={global_batch} must be a multiple of the {world} processes")
    idx = shard(len(x), world, rank, epoch, seed)
    order = torch.Generator().manual_seed(seed * 1_000_003 + epoch * 1009 + rank)  # per rank, per epoch
    loss = torch_train.train_epoch(
        model,
        x[idx],
        y[idx],
        optimizer,
        batch_size=global_batch // world,
        scheduler=scheduler,
        generator=order,
    )
    total = torch.tensor([loss], device=x.device)  # nccl reduces tensors on the GPU only
    if world > 1:
        dist.all_reduce(total)  # every shard has the same size: the mean of means is the mean
    return total.item() / world


def step_seconds(model, x, y, optimizer, batch: int, steps: int) -> tuple[float, float]:
    """Seconds per step of ``steps`` batches with the gradient all-reduce, then without it (``no_sync``)."""
    part = (x[: batch * steps], y[: batch * steps])
    times = []
    for skip in (False, True):
        dist.barrier()
        start = time.perf_counter()
        with model.no_sync() if skip else contextlib.nullcontext():
            torch_train.train_epoch(model, *part, optimizer, batch_size=batch)
        times.append((time.perf_counter() - start) / steps)
    return times[0], times[1]


def checksum(model) -> str:
    """A short SHA-256 of every weight's bytes: equal checksums mean bit-for-bit equal networks."""
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m digitlab.torch_ddp", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoint and result.json")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--global-batch", type=int, default=128, help="images per step, all processes together"
    )
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument(
        "--data", type=Path, default=None, help="an .npz from save_data (default: load_mnist)"
    )
    parser.add_argument("--train", type=int, default=0, help="training images to use (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resume", action="store_true", help="go on from the checkpoint in --out if there is one"
    )
    parser.add_argument(
        "--probe-steps", type=int, default=10, help="steps timed with and without the all-reduce"
    )
    parser.add_argument(
        "--backend", default=None, help="gloo (CPU, the default) or nccl (one GPU per process)"
    )
    return parser.parse_args(argv)


def die_with_launcher() -> None:
    """On Linux, ask the kernel to kill this process when its launcher dies (torchrun starts each rank in its own session)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed node takes its ranks with it


def main(argv=None) -> None:
    args = parse(argv)
    die_with_launcher()
    backend = args.backend or "gloo"  # nccl only when asked: two ranks cannot share one GPU
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}" if backend == "nccl" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)  # one GPU per process
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    try:
        _train(args, rank, world, device)
    finally:
        dist.destroy_process_group()


def _train(args, rank: int, world: int, device: torch.device) -> None:
    mnist = load_data(args.data) if args.data else data.load_mnist(validation=VALIDATION)
    n = args.train or len(mnist.y_train)
    x, y = as_images(mnist.x_train[:n]).to(device), as_labels(mnist.y_train[:n]).to(device)
    torch.manual_seed(args.seed)  # the same first weights everywhere (DDP also copies rank 0's)
    model = small_net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    steps = -(-len(shard(n, world, rank, 0, args.seed)) // (args.global_batch // world))
    scheduler = torch_train.make_schedule(optimizer, "onecycle", args.lr, args.epochs, steps)
    path, done, resumed = args.out / "checkpoint.pt", 0, None
    if args.resume and path.is_file():
        done = resumed = distributed.load_checkpoint(path, model, optimizer, scheduler)["epoch"]
    ddp = DistributedDataParallel(model)
    history = {"loss": [], "seconds": []}
    for epoch in range(done, args.epochs):
        start = time.perf_counter()
        loss = train_shard(
            ddp,
            x,
            y,
            optimizer,
            epoch=epoch,
            global_batch=args.global_batch,
            seed=args.seed,
            scheduler=scheduler,
        )
        history["seconds"].append(time.perf_counter() - start)
        history["loss"].append(loss)
        if rank == 0:  # one writer: the others would race for the same file
            distributed.save_checkpoint(path, model, optimizer, scheduler, epoch + 1)
            print(
                f"epoch {epoch + 1}/{args.epochs}: loss {loss:.4f} ({history['seconds'][-1]:.1f} s)",
                flush=True,
            )
    result = {
        "world": world,
        "threads": torch.get_num_threads(),
        "steps_per_epoch": steps,
        "resumed_from": resumed,
    }
    result |= history
    if rank == 0:
        result["val_accuracy"] = torch_train.evaluate(model, mnist.x_val, mnist.y_val)[1]
        result["test_accuracy"] = torch_train.evaluate(model, mnist.x_test, mnist.y_test)[1]
        result["checksum"] = checksum(model)
    if args.probe_steps:  # after the checkpoint: these steps change the weights, and nothing keeps them
        sync, alone = step_seconds(ddp, x, y, optimizer, args.global_batch // world, args.probe_steps)
        result |= {"step_seconds": sync, "step_seconds_no_sync": alone}
    dist.barrier()
    if rank == 0:
        _io.write_json(args.out / "result.json", result)


if __name__ == "__main__":
    main()
