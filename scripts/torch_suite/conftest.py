"""Run PyTorch's own TestOptimRenewed (``test_optim.py``, fetched beside this file by
``run.sh``) on optlib's twins of torch's optimisers.

Before ``test_optim.py`` is collected, the ``optim_cls`` of the entries of
``torch.testing._internal.common_optimizers.optim_db`` for the seven twins (SGD, Adam,
AdamW, Adagrad, RMSprop, NAdam, RAdam) becomes optlib's class; every other field (the
configurations, the error inputs, the skips) stays torch's, and so do the test names.

``TORCHSUITE_IMPL=optlib`` (the default) or ``torch`` (torch's classes, for the
baseline). ``TORCHSUITE_DROP_FLAGS=1`` (a diagnostic) removes the configurations with
``fused``, ``capturable`` or ``differentiable`` set to True, which optlib refuses with
its NotImplementedError: a test that loops over configurations then checks the ones
after them too.
"""

import os
import sys
from pathlib import Path

IMPL = os.environ.get("TORCHSUITE_IMPL", "optlib")
if IMPL not in ("optlib", "torch"):
    raise SystemExit(f"TORCHSUITE_IMPL must be 'optlib' or 'torch', got {IMPL!r}")
TWINS = ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "NAdam", "RAdam")
REFUSED = ("fused", "capturable", "differentiable")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository's optlib

import torch  # noqa: E402
from torch.testing._internal import common_optimizers  # noqa: E402

if IMPL == "optlib":
    import optlib

    swapped = []
    for info in common_optimizers.optim_db:
        name = info.optim_cls.__name__
        if name in TWINS and info.optim_cls is getattr(torch.optim, name):
            info.optim_cls = getattr(optlib, name)
            swapped.append(name)
    assert sorted(swapped) == sorted(TWINS), swapped

if os.environ.get("TORCHSUITE_DROP_FLAGS") == "1":
    every_input = common_optimizers._get_optim_inputs_including_global_cliquey_kwargs

    def _without_refused_flags(*args, **kwargs):
        return [i for i in every_input(*args, **kwargs)
                if not any(i.kwargs.get(flag) for flag in REFUSED)]

    common_optimizers._get_optim_inputs_including_global_cliquey_kwargs = (
        _without_refused_flags)


def pytest_report_header(config):
    used = {info.optim_cls.__name__: info.optim_cls.__module__
            for info in common_optimizers.optim_db
            if info.optim_cls.__name__ in TWINS}
    return [f"torch_suite: TORCHSUITE_IMPL={IMPL}; the twins come from {used}"]
