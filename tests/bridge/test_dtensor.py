"""Sharded init on DTensors: two CPU ranks (gloo), parameters sharded on dim 0 and dim 1.

Checked per rank, exactly (no statistics): a seeded initializer's global tensor equals the
unsharded seeded call bit for bit; an unseeded Orthogonal gathered from its shards is orthogonal
(max |WᵀW - I| < 1e-5) and identical on both ranks; unseeded elementwise shards are distinct
(not the same stream repeated per shard) and inside the Keras support.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest
import torch
import torch.multiprocessing as mp

import kerasinit

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or sys.platform == "win32",
    reason="needs torch.distributed with gloo",
)


def _worker(rank: int, world: int, port: int) -> None:
    import torch.distributed as dist
    from torch.distributed.tensor import DeviceMesh, Replicate, Shard, distribute_tensor

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        mesh = DeviceMesh("cpu", list(range(world)))
        for placement in (Shard(0), Shard(1), Replicate()):
            # seeded: global == unsharded, bit for bit
            for name in ("he_normal", "glorot_uniform", "orthogonal"):
                init = kerasinit.get(name, seed=11)
                w = distribute_tensor(torch.zeros(64, 48), mesh, [placement])
                init(w)
                assert torch.equal(w.full_tensor(), init(torch.empty(64, 48))), name
            # unseeded orthogonal: one consistent matrix across shards
            w = distribute_tensor(torch.zeros(64, 48), mesh, [placement])
            kerasinit.get("orthogonal")(w)
            full = w.full_tensor()
            keras_view = full.T  # Keras kernel (48, 64): its rows are orthonormal
            assert (keras_view @ keras_view.T - torch.eye(48)).abs().max() < 1e-5
            gathered = [torch.empty_like(full) for _ in range(world)]
            dist.all_gather(gathered, full)
            assert all(torch.equal(gathered[0], g) for g in gathered)
        # unseeded elementwise: shards differ, values within ±sqrt(6/(48+64))
        w = distribute_tensor(torch.zeros(64, 48), mesh, [Shard(0)])
        kerasinit.get("glorot_uniform")(w)
        full = w.full_tensor()
        assert not torch.equal(full[:32], full[32:])
        assert full.abs().max() <= (6 / (48 + 64)) ** 0.5
    except BaseException:
        dist.destroy_process_group()
        raise
    dist.barrier()
    dist.destroy_process_group()
    # torch 2.13's gloo aborts in ~25 % of normal interpreter exits ("terminate called without
    # an active exception" from static destructors; measured 8/30 with a bare DTensor script
    # that never imports kerasinit, 0/30 with this exit). A passing rank leaves without them.
    os._exit(0)


def test_dtensor_two_ranks() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(2, port), nprocs=2, join=True)
