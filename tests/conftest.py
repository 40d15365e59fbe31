"""Fixtures shared by several test modules; one inductor cache per CPU capability."""

from __future__ import annotations

import getpass
import os
import tempfile

import pytest
import torch

# torch 2.13's inductor cache does not tell apart CPU kernels generated for different
# ATen CPU capabilities: inductor picks its vector ISA from ATEN_CPU_CAPABILITY (the
# Makefile sets avx2, a bare `pytest` leaves the machine's AVX512), and a kernel
# compiled under one and loaded under the other crashed (SIGABRT) or gave wrong
# numbers in tests/test_compile.py. So each capability gets its own cache directory,
# unless one is chosen already.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(
    tempfile.gettempdir(),
    f"torchinductor_{getpass.getuser()}_{torch.backends.cpu.get_cpu_capability()}"))


@pytest.fixture
def one_thread():
    """One intra-op thread for the duration of a test: on tiny tensors more threads only cost
    time on a shared machine (20x for the AdaBound reference)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
