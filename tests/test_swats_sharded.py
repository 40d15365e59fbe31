"""SWATS under ``torch.distributed.optim.ZeroRedundancyOptimizer`` (issue 16, item 8).

ZeRO gives each rank's SWATS a shard of every parameter group. The switch is a
decision about the whole group, so the two dot products of the projection are summed
over the ranks before it: both ranks must switch at the step, and to the SGD rate, of a
single process holding every parameter, and a consolidated checkpoint must resume
exactly. Two gloo processes on the CPU, on 127.0.0.1.
"""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import optlib
from problems import smooth_problem

# two gloo processes per test: run by `make test-slow` (CI), not by `make test`
pytestmark = pytest.mark.slow

SHAPES = ((6, 5), (5,), (7,), (3, 4), (4,), (2,))
STEPS, SAVE_AT = 120, 30    # the first group switches before SAVE_AT, the second after
#: three groups: ZeRO puts the last one's single tensor on one rank, so the other
#: rank's shard of it is empty (and still takes part in every step's sums)
GROUPS = [dict(lr=0.01, switch_tol=1e-4),
          dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01,
               switch_tol=3e-6),
          dict(lr=0.02)]
SPLIT = [(0, 3), (3, 5), (5, 6)]


def problem():
    """float64 parameters and a noisy loss per step (the same on every rank, as DDP's
    averaged gradients are)."""
    params, f = smooth_problem(seed=2, shapes=SHAPES)
    gen = torch.Generator().manual_seed(7)
    noise = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
             for _ in range(STEPS)]

    def loss_at(k):
        return lambda xs: f(xs) + sum((n * x).sum() for n, x in zip(noise[k], xs))

    return params, loss_at


def groups_of(params):
    return [{"params": params[a:b], **g} for (a, b), g in zip(SPLIT, GROUPS)]


def run(opt, params, loss_at, steps, on_step=None):
    for k in steps:
        opt.zero_grad()
        loss_at(k)(params).backward()
        opt.step()
        if on_step is not None:
            on_step(k + 1)


def numbers(opt):
    keys = ("phase", "group_step", "lambda_avg", "proj_lr", "switch_step", "sgd_lr")
    return [{key: group[key] for key in keys} for group in opt.param_groups]


def zero_swats(params):
    from torch.distributed.optim import ZeroRedundancyOptimizer
    return ZeroRedundancyOptimizer(groups_of(params), optimizer_class=optlib.SWATS)


def _worker(rank, port, out):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    try:
        torch.set_num_threads(1)
        params, loss_at = problem()
        zero = zero_swats(params)
        mine = sum(p.numel() for g in zero.optim.param_groups for p in g["params"])
        saved = {}

        def save(k):
            if k == SAVE_AT:
                zero.consolidate_state_dict(to=0)
                if rank == 0:
                    torch.save(zero.state_dict(), f"{out}/checkpoint.pt")
                saved["params"] = [p.detach().clone() for p in params]
                saved["numbers"] = numbers(zero.optim)
                dist.barrier()

        run(zero, params, loss_at, range(STEPS), save)
        straight = [p.detach().clone() for p in params]

        # a fresh ZeRO from the consolidated checkpoint, on parameters where they were
        params2, _ = problem()
        with torch.no_grad():
            for p, q in zip(params2, saved["params"]):
                p.copy_(q)
        zero2 = zero_swats(params2)
        zero2.load_state_dict(torch.load(f"{out}/checkpoint.pt", weights_only=False))
        resumed_numbers = numbers(zero2.optim)
        run(zero2, params2, loss_at, range(SAVE_AT, STEPS))
        torch.save(dict(mine=mine, numbers=numbers(zero.optim), straight=straight,
                        saved_numbers=saved["numbers"], resumed_numbers=resumed_numbers,
                        resumed=[p.detach().clone() for p in params2],
                        resumed_end=numbers(zero2.optim)), f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    out = tmp_path_factory.mktemp("zero")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.fixture(scope="module")
def one_process():
    params, loss_at = problem()
    opt = optlib.SWATS(groups_of(params))
    run(opt, params, loss_at, range(STEPS))
    return opt, [p.detach().clone() for p in params]


def test_the_parameters_are_sharded(ranks):
    total = sum(torch.Size(s).numel() for s in SHAPES)
    assert all(0 < rank["mine"] < total for rank in ranks)


def test_every_rank_switches_as_one_process_does(ranks, one_process):
    opt, _ = one_process
    alone = numbers(opt)
    assert [g["switch_step"] for g in alone][:2] == [g["switch_step"]
                                                     for g in ranks[0]["numbers"]][:2]
    assert None not in [g["switch_step"] for g in alone][:2]     # two groups switch
    assert ranks[0]["numbers"] == ranks[1]["numbers"]           # bit for bit
    for ours, theirs in zip(ranks[0]["numbers"], alone):
        assert ours["phase"] == theirs["phase"]
        assert ours["switch_step"] == theirs["switch_step"]
        assert ours["group_step"] == theirs["group_step"] == STEPS
        for key in ("lambda_avg", "sgd_lr"):    # the dots summed in another order
            if theirs[key] is not None:
                assert ours[key] == pytest.approx(theirs[key], rel=1e-12)


def test_the_trajectory_is_one_process_s(ranks, one_process):
    _, alone = one_process
    for rank in ranks:
        for ours, theirs in zip(rank["straight"], alone):
            torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_a_consolidated_checkpoint_resumes_exactly(ranks):
    phases = [g["phase"] for g in ranks[0]["saved_numbers"]]
    assert phases == ["sgd", "adam", "adam"]     # saved between the two switches
    for rank in ranks:
        assert rank["resumed_numbers"] == rank["saved_numbers"]
        assert rank["resumed_end"] == rank["numbers"]
        for a, b in zip(rank["resumed"], rank["straight"]):
            assert torch.equal(a, b)
