"""The devices the parity, resume and compile tests run on (issue 16, item 11): the CPU
always, and CUDA where torch sees a GPU. Each test builds its tensors on the CPU from a
seeded generator and moves them, so every device starts from the same numbers."""

from __future__ import annotations

import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
