"""torch.distributed helpers: set up from torchrun's environment, rank/world size, gathers, reductions."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def setup(device_type: str) -> tuple[int, int, int]:
    """Join the process group torchrun (or a test's spawn) describes in the environment.

    Returns (rank, world_size, local_rank); (0, 1, 0) when not launched distributed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


@torch.no_grad()
def all_gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor from every process along dim 0 (no gradient), as MoCo's queue needs."""
    if not active():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, 0)


def mean(value: float, device: torch.device) -> float:
    """The mean of a number over processes."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def barrier() -> None:
    if active():
        dist.barrier()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, world: int, port: int, fn, args: tuple, threads: int | None) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    if threads:
        torch.set_num_threads(threads)
    try:
        fn(*args)
    finally:
        teardown()


def spawn(fn, nprocs: int, *args, threads: int | None = None) -> None:
    """Run fn(*args) in `nprocs` local processes joined in one process group (CPU: gloo), as
    torchrun would; for tests and CPU machines without torchrun at hand."""
    import torch.multiprocessing as mp

    mp.spawn(_entry, args=(nprocs, free_port(), fn, args, threads), nprocs=nprocs, join=True)
