"""The committed sweep: what ``make sweep`` runs and ``results/optlab.db`` holds.

Every study follows :func:`optlab.protocol.run_protocol`: the learning rate is tuned
with ``TUNE_SEEDS`` on a starting grid of five points about half a decade apart
(extended until the best value lies inside it), then the best value is rerun with
``FINAL_SEEDS`` seeds. One tuning seed is what DeepOBS uses; the finals carry the statistics. The budget is each
workload's default step count, the same for every optimiser of a study.

Two starting grids cover the lecture's optimisers: SGD's rates (plain, momentum,
scheduled) and Adam's (every adaptive method, whose ``lr`` is the Adam-phase rate for
AdaBound and SWATS). Part III's optimisers (after the lecture) come last in the two large
studies; Lion, Adafactor and Prodigy have grids of their own, as their ``lr`` means
something else. The grid only starts the search; the protocol moves it where the best is.

The order inside a study is the order of importance for the book (SGDM and Adam first),
so that a sweep stopped early has the comparisons the chapters lean on most.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADAFACTOR_GRID", "ADAM_GRID", "FINAL_SEEDS", "LECTURE", "LION_GRID", "PART3", "PLAN",
    "PRODIGY_GRID", "SGD_GRID", "TUNE_SEEDS", "Group",
]

SGD_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
ADAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
TUNE_SEEDS = (0,)
FINAL_SEEDS = 10

_SCHEDULES = ("onecycle", "cyclic", "sgdr", "warmup")
# the full set (issue 14): ten optimisers, and SGDM and Adam under each schedule
_FULL = (
    ("sgdm", SGD_GRID),
    ("adam", ADAM_GRID),
    ("sgd", SGD_GRID),
    ("adamw", ADAM_GRID),
    *((f"sgdm+{s}", SGD_GRID) for s in _SCHEDULES),
    *((f"adam+{s}", ADAM_GRID) for s in _SCHEDULES),
    ("radam", ADAM_GRID),
    ("nadam", ADAM_GRID),
    ("amsgrad", ADAM_GRID),
    ("adabound", ADAM_GRID),
    ("swats", ADAM_GRID),
    ("lookahead-adam", ADAM_GRID),
    ("adam-l2", ADAM_GRID),
)
_BASELINES = (("sgdm", SGD_GRID), ("adam", ADAM_GRID))

#: Lion wants a lr 3-10 times below AdamW's (Chen et al. 2023); Adafactor's lr caps a
#: step relative to the parameters' RMS; Prodigy's multiplies its own estimate (1 is the
#: authors' default)
LION_GRID = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3)
ADAFACTOR_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
PRODIGY_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
# Part III of the book (issue 18): the optimisers after the lecture, chapters 17-20 first
_PART3 = (
    ("adamw+wsd", ADAM_GRID),
    ("lion", LION_GRID),
    ("adamw-sf", ADAM_GRID),
    ("sgd-sf", SGD_GRID),
    ("adafactor", ADAFACTOR_GRID),
    ("prodigy", PRODIGY_GRID),
    ("soap", ADAM_GRID),
)
#: the optlab names of the lecture's optimisers (Parts I and II) and of Part III's
LECTURE = tuple(name for name, _ in _FULL)
PART3 = tuple(name for name, _ in _PART3) + ("muon",)
# Muon needs hidden weight matrices: the Transformer has them, the CNN (convolutions
# and a head) has none
_PART3_LM = _PART3 + (("muon", ADAM_GRID),)


@dataclass(frozen=True)
class Group:
    """One workload's study: (optimizer, starting grid) pairs, run in this order."""

    workload: str
    optimizers: tuple[tuple[str, tuple[float, ...]], ...]

    @property
    def study(self) -> str:
        return self.workload


PLAN: tuple[Group, ...] = (
    Group("digits-logreg", _BASELINES),
    Group("digits-mlp", _BASELINES),
    Group("gan-2d", _BASELINES),
    Group("mnist-cnn", _FULL + _PART3),
    Group("char-transformer", _FULL + _PART3_LM),
)


def trials_at_least(group: Group) -> int:
    """Trials the group needs when no grid is extended."""
    per = len(ADAM_GRID) * len(TUNE_SEEDS) + FINAL_SEEDS - len(TUNE_SEEDS)
    return per * len(group.optimizers)
