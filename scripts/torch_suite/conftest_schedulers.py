"""Run PyTorch's own TestLRScheduler (``test_lrscheduler.py``, fetched beside this file
by ``run_schedulers.sh``) on optlib's four scheduler twins.

``TORCHSUITE_IMPL=optlib`` (the default) or ``torch`` (torch's classes, the baseline).
With ``optlib``, once ``test_lrscheduler.py`` is imported, the names it imported from
``torch.optim.lr_scheduler`` are rebound in its namespace to optlib's twins:

    CyclicLR -> optlib.CyclicLR              OneCycleLR -> optlib.OneCycleLR
    CosineAnnealingWarmRestarts -> optlib.SGDR    LinearLR -> optlib.LinearWarmup

and so are the same attributes of ``torch.optim.lr_scheduler`` (for the one test,
``test_cosine_then_cyclic``, that writes ``torch.optim.lr_scheduler.CyclicLR``; torch's
own module looks none of the four up by name). The twins take torch's arguments (same
names, order and defaults), so no adapter is needed; that is checked here.
"""

import inspect
import os
import sys

import pytest

IMPL = os.environ.get("TORCHSUITE_IMPL", "optlib")
if IMPL not in ("optlib", "torch"):
    raise SystemExit(f"TORCHSUITE_IMPL must be 'optlib' or 'torch', got {IMPL!r}")
if os.environ.get("TORCHSUITE_ROOT"):  # the repository whose optlib is tested (the
    sys.path.insert(0, os.environ["TORCHSUITE_ROOT"])  # script sets it)

import torch.optim.lr_scheduler as lr_scheduler  # noqa: E402

TWINS = {"CyclicLR": "CyclicLR", "OneCycleLR": "OneCycleLR",
         "CosineAnnealingWarmRestarts": "SGDR", "LinearLR": "LinearWarmup"}


def _arguments(cls):
    """(name, kind, default) of each argument of ``cls.__init__`` (no annotations)."""
    return [(p.name, p.kind, p.default)
            for p in inspect.signature(cls.__init__).parameters.values()]


if IMPL == "optlib":
    import optlib

    for torch_name, optlib_name in TWINS.items():
        ours, theirs = getattr(optlib, optlib_name), getattr(lr_scheduler, torch_name)
        assert _arguments(ours) == _arguments(theirs), (optlib_name, torch_name)
        setattr(lr_scheduler, torch_name, ours)


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makemodule(module_path, parent):
    outcome = yield
    module = outcome.get_result()
    if IMPL == "optlib" and module_path.name == "test_lrscheduler.py":
        namespace = module.obj.__dict__          # imports the test module
        for torch_name in TWINS:
            assert torch_name in namespace, torch_name
            namespace[torch_name] = getattr(lr_scheduler, torch_name)


def pytest_report_header(config):
    used = {name: f"{getattr(lr_scheduler, name).__module__}."
                  f"{getattr(lr_scheduler, name).__name__}" for name in TWINS}
    return [f"torch_suite: TORCHSUITE_IMPL={IMPL}; the four classes are {used}"]
