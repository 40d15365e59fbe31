"""Table rows of the newer optimisers (AdaBound, AMSBound, SWATS, RAdam, NAdam, AdamW, SGDW,
Lookahead). Kept apart from ``cases.py`` so that each family's rows stay together."""

from __future__ import annotations

NEWER_OPTIMIZER_CASES: list = []
NEWER_ERROR_CASES: list = []
