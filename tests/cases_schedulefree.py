"""Table rows (tests/cases.py) of schedulefree: filled in by its own family's author."""

from __future__ import annotations

SF_OPTIMIZER_CASES: list = []
SF_ERROR_CASES: list = []
