"""The wrapper optlib puts around every ``step()`` behaves like ``torch.optim.Optimizer``'s.

torch wraps ``step`` once per class: global and per-optimiser pre-hooks (which may replace the
arguments), the profiler label ``Optimizer.step#<class>.step``, ``_optimizer_step_code`` and the
post-hooks. optlib keeps all of that and only makes the label with torch's C++ class, so a step
without a profiler does not pay for the Python ``record_function``.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import optlib
from cases import CLASS_CASES


def _one_param():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    p.grad = torch.tensor([0.5, 0.25])
    return p


def _make(case_or_torch, p):
    if case_or_torch == "torch":
        return torch.optim.SGD([p], lr=0.1, momentum=0.9)
    return case_or_torch.make([p])


ALL = ["torch", *CLASS_CASES]
ids = lambda c: c if isinstance(c, str) else c.id  # noqa: E731


@pytest.mark.parametrize("case", ALL, ids=ids)
def test_profiler_sees_one_step_label_per_step(case):
    p = _one_param()
    opt = _make(case, p)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        opt.step()
        opt.step()
    label = f"Optimizer.step#{type(opt).__name__}.step"
    assert [e.name for e in prof.events()].count(label) == 2


@pytest.mark.parametrize("case", ALL, ids=ids)
def test_hooks_run_in_torchs_order(case):
    p = _one_param()
    opt = _make(case, p)
    seen = []
    # global hooks see every optimiser (Lookahead's inner one too): keep the calls for this one
    handles = [
        register_optimizer_step_pre_hook(lambda o, a, k: seen.append("global pre") if o is opt else None),
        opt.register_step_pre_hook(lambda o, a, k: seen.append("pre")),
        opt.register_step_post_hook(lambda o, a, k: seen.append("post")),
        register_optimizer_step_post_hook(lambda o, a, k: seen.append("global post") if o is opt else None),
    ]
    try:
        opt.step()
    finally:
        for h in handles:
            h.remove()
    assert seen == ["global pre", "pre", "post", "global post"]
    opt.step()   # removed hooks stay removed
    assert len(seen) == 4


@pytest.mark.parametrize("case", ALL, ids=ids)
def test_pre_hook_may_replace_the_arguments(case):
    p = _one_param()
    opt = _make(case, p)
    seen = {}

    def closure():
        return torch.tensor(7.0)

    # as in torch, the arguments the hooks see start with the optimiser itself
    opt.register_step_pre_hook(lambda o, a, k: seen.update(pre=a) or ((o,), {"closure": closure}))
    opt.register_step_post_hook(lambda o, a, k: seen.update(args=a, kwargs=k))
    assert opt.step().item() == 7.0
    assert seen == {"pre": (opt,), "args": (opt,), "kwargs": {"closure": closure}}


@pytest.mark.parametrize("case", ALL, ids=ids)
def test_pre_hook_with_a_bad_result_is_an_error(case):
    p = _one_param()
    opt = _make(case, p)
    before = p.detach().clone()
    opt.register_step_pre_hook(lambda o, a, k: "oops")
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, "
                                           r"new_kwargs\), but got oops\."):
        opt.step()
    assert torch.equal(p.detach(), before)   # the step itself did not run


def test_no_python_record_function_without_a_profiler(monkeypatch):
    """optlib labels the step with the C++ RecordFunctionFast: with the Python record_function
    broken, torch's own optimiser fails and optlib's steps."""

    def broken(self):
        raise AssertionError("the Python record_function was entered")

    monkeypatch.setattr(torch.autograd.profiler.record_function, "__enter__", broken)
    p = _one_param()
    with pytest.raises(AssertionError, match="record_function was entered"):
        torch.optim.SGD([p], lr=0.1).step()       # the patch bites
    for case in CLASS_CASES:
        q = _one_param()
        opt = case.make([q])
        for _ in range(case.idle_steps + 1):
            opt.step()
        assert not torch.equal(q.detach(), torch.tensor([1.0, -2.0]))


def test_scheduler_order_warning_still_works():
    """torch's LR schedulers wrap ``opt.step`` to warn when ``scheduler.step()`` comes first."""
    p = _one_param()
    opt = optlib.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        sched.step()
    p2 = _one_param()
    opt2 = optlib.SGD([p2], lr=0.1)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
