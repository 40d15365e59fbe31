"""Table rows (tests/cases.py) of prodigy and soap: filled in by its own family's author."""

from __future__ import annotations

PS_OPTIMIZER_CASES: list = []
PS_ERROR_CASES: list = []
