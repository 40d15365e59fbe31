"""Bad input to the public API of optlib: every invalid argument raises a clear error.

``BAD_INPUT`` is one table of (call, args, kwargs, error type, message pattern) over every public
function and class. The optimiser constructors' own rows live in ``cases.ERROR_CASES`` (run by
``test_optimizers.py``) and the schedulers' constructor rows in ``test_schedules.ERROR_CASES``;
this table holds what those do not. Further down: state_dicts of another optimiser or with
missing keys, non-finite gradients against the torch twins, and schedules stepped past their end.
"""

from __future__ import annotations

import copy
from functools import partial

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.optim import lr_scheduler as tls  # noqa: E402

import optlib  # noqa: E402
from cases import CLASS_CASES, OPTIMIZER_CASES, first_per_class  # noqa: E402
from optlab import book, data, plot, sharpness, surfaces  # noqa: E402
from optlib import schedules as S  # noqa: E402
from test_optimizers import groups, make_loss, make_params, run  # noqa: E402

NAN, INF = float("nan"), float("inf")


def _p():
    return [torch.zeros(2, requires_grad=True)]


def _sgd(**kw):
    return optlib.SGD(_p(), lr=0.1, momentum=0.9, **kw)


def _adam():
    return optlib.Adam(_p(), lr=0.1)


def _model():
    return torch.nn.Linear(1, 1)


def _mse_batches():
    return [(torch.ones(4, 1), torch.zeros(4, 1))]


def _lr_test(**kw):
    model = _model()
    args = dict(model=model, optimizer=optlib.SGD(model.parameters(), lr=0.1),
                loss_fn=torch.nn.functional.mse_loss, batches=_mse_batches(), num_iter=3)
    return optlib.lr_range_test(**{**args, **kw})


_DIGITS_X, _DIGITS_Y = torch.zeros(6, 64), torch.zeros(6, dtype=torch.long)
_PATH = {"SGD": np.zeros((4, 2))}
_QUAD = surfaces.ill_conditioned_quadratic
_WIN = (-1.0, 1.0, -1.0, 1.0)

# (id, callable, args, kwargs, error type, message pattern)
BAD_INPUT = [
    # ------------------------------------------------------------ optimisers: flags and NaN
    *[(f"{cls.__name__}-{flag}", cls, (_p(),), {flag: "yes"}, TypeError, rf"{flag} must be a bool")
      for cls, flags in [(optlib.SGD, ["nesterov", "maximize"]), (optlib.SGDW, ["maximize"]),
                         (optlib.Adagrad, ["maximize"]), (optlib.RMSprop, ["centered", "maximize"]),
                         (optlib.Adam, ["amsgrad", "maximize", "decoupled_weight_decay"]),
                         (optlib.AMSGrad, ["maximize"]), (optlib.AdamW, ["amsgrad", "maximize"]),
                         (optlib.NAdam, ["decoupled_weight_decay", "maximize"]),
                         (optlib.RAdam, ["decoupled_weight_decay", "maximize"]),
                         (optlib.SWATS, ["maximize"])]
      for flag in flags],
    ("SGD-momentum-type", optlib.SGD, (_p(),), dict(momentum="0.9"), TypeError,
     r"momentum must be a real number"),
    ("SGD-dampening-type", optlib.SGD, (_p(),), dict(dampening=None), TypeError,
     r"dampening must be a real number"),
    ("SGD-wd-nan", optlib.SGD, (_p(),), dict(weight_decay=NAN), ValueError,
     r"Invalid weight_decay value: nan"),
    ("Adagrad-lr_decay-nan", optlib.Adagrad, (_p(),), dict(lr_decay=NAN), ValueError,
     r"Invalid lr_decay value: nan"),
    ("Adagrad-init-inf", optlib.Adagrad, (_p(),), dict(initial_accumulator_value=INF), ValueError,
     r"Invalid initial_accumulator_value value: inf"),
    ("Adagrad-eps-nan", optlib.Adagrad, (_p(),), dict(eps=NAN), ValueError,
     r"Invalid epsilon value: nan"),
    ("RMSprop-alpha-nan", optlib.RMSprop, (_p(),), dict(alpha=NAN), ValueError,
     r"Invalid alpha value: nan"),
    ("RMSprop-momentum-nan", optlib.RMSprop, (_p(),), dict(momentum=NAN), ValueError,
     r"Invalid momentum value: nan"),
    ("RMSprop-lr-type", optlib.RMSprop, (_p(),), dict(lr=None), TypeError,
     r"lr must be a real number"),
    ("Adam-wd-nan", optlib.Adam, (_p(),), dict(weight_decay=NAN), ValueError,
     r"Invalid weight_decay value: nan"),
    ("NAdam-momentum_decay-type", optlib.NAdam, (_p(),), dict(momentum_decay="0.004"), TypeError,
     r"momentum_decay must be a real number"),
    ("RAdam-wd-inf", optlib.RAdam, (_p(),), dict(weight_decay=INF), ValueError,
     r"Invalid weight_decay value: inf"),
    ("SWATS-wd-nan", optlib.SWATS, (_p(),), dict(weight_decay=NAN), ValueError,
     r"Invalid weight_decay value: nan"),
    ("SWATS-betas-len", optlib.SWATS, (_p(),), dict(betas=(0.9, 0.99, 0.9)), TypeError,
     r"betas must be a tuple of two floats"),
    ("Lookahead-k-none", lambda **kw: optlib.Lookahead(_sgd(), **kw), (), dict(k=None), TypeError,
     r"Invalid k: None \(expected an integer >= 1\)"),
    # ------------------------------------------------------------ pure schedule functions
    ("triangular-t", S.triangular, (-1, 0.1, 0.5, 2), {}, ValueError,
     r"Invalid t: -1 \(expected a finite step >= 0\)"),
    ("triangular-step_size", S.triangular, (0, 0.1, 0.5, 0), {}, ValueError,
     r"Invalid step_size: 0 \(expected a finite value > 0\)"),
    ("triangular-max_lr", S.triangular, (0, 0.1, NAN, 2), {}, ValueError, r"Invalid max_lr: nan"),
    ("cyclic_lr-t-type", S.cyclic_lr, ("3", 0.1, 0.5), {}, TypeError, r"t must be a real number"),
    ("cyclic_lr-t-nan", S.cyclic_lr, (NAN, 0.1, 0.5), {}, ValueError, r"Invalid t: nan"),
    ("cyclic_lr-base", S.cyclic_lr, (0, -0.1, 0.5), {}, ValueError,
     r"Invalid base_lr: -0\.1 \(expected a finite value >= 0\)"),
    ("cyclic_lr-up", S.cyclic_lr, (0, 0.1, 0.5), dict(step_size_up=0), ValueError,
     r"Invalid step_size_up: 0 \(expected a finite number > 0\)"),
    ("cyclic_lr-down", S.cyclic_lr, (0, 0.1, 0.5), dict(step_size_down=-2), ValueError,
     r"Invalid step_size_down: -2 \(expected a finite number >= 0\)"),
    ("cyclic_lr-mode", S.cyclic_lr, (0, 0.1, 0.5), dict(mode="saw"), ValueError,
     r"mode is invalid and scale_fn is None"),
    ("cyclic_lr-gamma", S.cyclic_lr, (0, 0.1, 0.5), dict(mode="exp_range", gamma=-1.0),
     ValueError, r"Invalid gamma: -1\.0 \(expected a finite value > 0\)"),
    ("cyclic_lr-scale_fn", S.cyclic_lr, (0, 0.1, 0.5), dict(scale_fn=0.5), TypeError,
     r"scale_fn must be callable or None, got float"),
    ("cyclic_momentum-max", S.cyclic_momentum, (0,), dict(max_momentum=INF), ValueError,
     r"Invalid max_momentum: inf"),
    ("cosine_annealing-T_i", S.cosine_annealing, (0, 0, 0.1), {}, ValueError,
     r"Invalid T_i: 0 \(expected a finite value > 0\)"),
    ("cosine_annealing-T_cur", S.cosine_annealing, (-1, 4, 0.1), {}, ValueError,
     r"Invalid T_cur: -1 \(expected a finite step >= 0\)"),
    ("cosine_annealing-eta_min", S.cosine_annealing, (0, 4, 0.1, NAN), {}, ValueError,
     r"Invalid eta_min: nan \(expected a finite value\)"),
    ("restart_position-epoch", S.restart_position, (-0.5, 2), {}, ValueError,
     r"Expected non-negative epoch, but got -0\.5"),
    ("restart_position-T_0", S.restart_position, (1, 0), {}, ValueError,
     r"Expected positive integer T_0, but got 0"),
    ("restart_position-T_mult", S.restart_position, (1, 2, 1.5), {}, ValueError,
     r"Expected integer T_mult >= 1, but got 1\.5"),
    ("cosine_restarts-T_0", S.cosine_restarts, (1, 0.1, 2.5), {}, ValueError,
     r"Expected positive integer T_0, but got 2\.5"),
    ("one_cycle-past-end", S.one_cycle, (11, 1.0, 10), {}, ValueError,
     r"Tried to step 11 times\. The specified number of total steps is 10"),
    ("one_cycle-t", S.one_cycle, (-1, 1.0, 10), {}, ValueError, r"Invalid t: -1"),
    ("one_cycle-total", S.one_cycle, (0, 1.0, 0), {}, ValueError,
     r"Expected positive integer total_steps, but got 0"),
    ("one_cycle-pct", S.one_cycle, (0, 1.0, 10), dict(pct_start=NAN), ValueError,
     r"Expected float between 0 and 1 pct_start, but got nan"),
    ("one_cycle-anneal", S.one_cycle, (0, 1.0, 10), dict(anneal_strategy="exp"), ValueError,
     r"anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    ("one_cycle-div", S.one_cycle, (0, 1.0, 10), dict(div_factor=0.0), ValueError,
     r"Invalid div_factor: 0\.0 \(expected a finite value > 0\)"),
    ("one_cycle-final-div", S.one_cycle, (0, 1.0, 10), dict(final_div_factor=-1.0), ValueError,
     r"Invalid final_div_factor: -1\.0"),
    ("one_cycle-max_lr", S.one_cycle, (0, -1.0, 10), {}, ValueError, r"Invalid max_lr: -1\.0"),
    ("one_cycle_momentum-base", S.one_cycle_momentum, (0, 10), dict(base_momentum=NAN), ValueError,
     r"Invalid base_momentum: nan"),
    ("linear_warmup-t", S.linear_warmup, (-2, 0.1), {}, ValueError, r"Invalid t: -2"),
    ("linear_warmup-iters", S.linear_warmup, (0, 0.1), dict(total_iters=0), ValueError,
     r"Invalid total_iters: 0 \(expected an integer >= 1\)"),
    ("linear_warmup-start", S.linear_warmup, (0, 0.1), dict(start_factor=NAN), ValueError,
     r"Starting multiplicative factor expected to be greater than 0 and less or equal to 1\."),
    ("linear_warmup-end", S.linear_warmup, (0, 0.1), dict(end_factor=-0.5), ValueError,
     r"Ending multiplicative factor expected to be between 0 and 1\."),
    ("with_warmup-schedule", S.with_warmup, (0.1, 3), {}, TypeError,
     r"schedule must be a function of the step, got float"),
    ("with_warmup-start", S.with_warmup, (lambda t: 0.1, 3), dict(start_factor="0.5"), TypeError,
     r"start_factor must be a real number"),
    # ------------------------------------------------------------ scheduler classes
    ("CyclicLR-scale_fn", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, scale_fn="x"), (), {},
     TypeError, r"scale_fn must be callable or None, got str"),
    ("CyclicLR-momentum", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, base_momentum=-0.1), (), {},
     ValueError, r"Invalid base_momentum: -0\.1 \(expected a value in \[0\.0, inf\)\)"),
    ("CyclicLR-cycle_momentum", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, cycle_momentum="no"),
     (), {}, TypeError, r"cycle_momentum must be a bool"),
    ("CyclicLR-max_lr-nan", lambda: optlib.CyclicLR(_sgd(), 0.1, NAN), (), {}, ValueError,
     r"Invalid max_lr: nan"),
    ("SGDR-eta_min-nan", lambda: optlib.SGDR(_sgd(), T_0=2, eta_min=NAN), (), {}, ValueError,
     r"Invalid eta_min: nan \(expected a finite value\)"),
    ("OneCycleLR-pct-nan", lambda: optlib.OneCycleLR(_sgd(), 1.0, 10, pct_start=NAN), (), {},
     ValueError, r"Expected float between 0 and 1 pct_start, but got nan"),
    ("WSD-warmup", lambda: optlib.WSD(_sgd(), -1, 2, 2), (), {}, ValueError,
     r"Invalid warmup_steps: -1 \(expected an integer >= 0\)"),
    ("WSD-decay-type", lambda: optlib.WSD(_sgd(), 1, 2, 2.5), (), {}, ValueError,
     r"Invalid decay_steps: 2\.5 \(expected an integer >= 0\)"),
    ("WSD-final", lambda: optlib.WSD(_sgd(), 1, 2, 2, final_fraction=NAN), (), {},
     ValueError, r"Invalid final_fraction: nan \(expected a value in \[0, 1\]\)"),
    ("WSD-shape", lambda: optlib.WSD(_sgd(), 1, 2, 2, decay_shape="exp"), (), {},
     ValueError, r"Invalid decay_shape: 'exp' \(expected one of 'linear', 'cosine'"),
    ("wsd-t", optlib.wsd, (-1, 1, 2, 2), {}, ValueError,
     r"Invalid t: -1 \(expected a finite step >= 0\)"),
    ("wsd-t-type", optlib.wsd, ("3", 1, 2, 2), {}, TypeError, r"t must be a real number"),
    ("wsd-start", optlib.wsd, (0, 1, 2, 2), dict(start_factor=1.5), ValueError,
     r"Invalid start_factor: 1\.5 \(expected a value in \[0, 1\]\)"),
    ("OneCycleLR-max_lr", lambda: optlib.OneCycleLR(_sgd(), -1.0, 10), (), {}, ValueError,
     r"Invalid max_lr: -1\.0 \(expected a finite value >= 0\)"),
    ("OneCycleLR-div", lambda: optlib.OneCycleLR(_sgd(), 1.0, 10, div_factor=0.0), (), {},
     ValueError, r"Invalid div_factor: 0\.0 \(expected a finite value > 0\)"),
    ("OneCycleLR-final-div", lambda: optlib.OneCycleLR(_sgd(), 1.0, 10, final_div_factor=INF),
     (), {}, ValueError, r"Invalid final_div_factor: inf"),
    ("OneCycleLR-three_phase", lambda: optlib.OneCycleLR(_sgd(), 1.0, 10, three_phase=1), (), {},
     TypeError, r"three_phase must be a bool"),
    ("OneCycleLR-past-end", lambda: [s.step() for s in [optlib.OneCycleLR(_sgd(), 1.0, 3)]
                                     for _ in range(4)], (), {}, ValueError,
     r"Tried to step 4 times\. The specified number of total steps is 3"),
    ("LinearWarmup-start-nan", lambda: optlib.LinearWarmup(_sgd(), start_factor=NAN), (), {},
     ValueError, r"Starting multiplicative factor expected to be greater than 0"),
    ("LinearWarmup-end-type", lambda: optlib.LinearWarmup(_sgd(), end_factor="1"), (), {},
     TypeError, r"end_factor must be a real number"),
    ("WarmupThen-start", lambda: optlib.WarmupThen(_sgd(), lambda t: 0.1, start_factor=0.0),
     (), {}, ValueError, r"Starting multiplicative factor expected to be greater than 0"),
    # ------------------------------------------------------------ lr_range_test
    ("lr_range_test-model", _lr_test, (), dict(model="net"), TypeError,
     r"model must be a torch\.nn\.Module, got str"),
    ("lr_range_test-optimizer", _lr_test, (), dict(optimizer=object()), TypeError,
     r"object is not an Optimizer"),
    ("lr_range_test-loss_fn", _lr_test, (), dict(loss_fn="mse"), TypeError,
     r"loss_fn must be callable, got str"),
    ("lr_range_test-batches", _lr_test, (), dict(batches=3), TypeError,
     r"batches must be an iterable of \(x, y\) pairs, got int"),
    ("lr_range_test-batch-item", _lr_test, (), dict(batches=[torch.ones(4, 1)]), TypeError,
     r"batches must yield \(x, y\) pairs, got a Tensor"),
    ("lr_range_test-batch-triple", _lr_test, (), dict(batches=[(1, 2, 3)]), TypeError,
     r"batches must yield \(x, y\) pairs, got a tuple of 3 items"),
    ("lr_range_test-empty", _lr_test, (), dict(batches=[]), ValueError, r"batches is empty"),
    ("lr_range_test-start-nan", _lr_test, (), dict(start_lr=NAN), ValueError,
     r"Invalid start_lr: nan \(expected a finite value > 0\)"),
    ("lr_range_test-end-type", _lr_test, (), dict(end_lr="10"), TypeError,
     r"end_lr must be a real number"),
    ("lr_range_test-beta-nan", _lr_test, (), dict(beta=NAN), ValueError,
     r"Invalid beta: nan \(expected a value in \[0, 1\)\)"),
    ("lr_range_test-diverge-inf", _lr_test, (), dict(diverge_th=INF), ValueError,
     r"Invalid diverge_th: inf \(expected a finite value > 1\)"),
    ("lr_range_test-num_iter-bool", _lr_test, (), dict(num_iter=True), ValueError,
     r"Invalid num_iter: True \(expected an integer >= 2\)"),
    # ------------------------------------------------------------ data
    ("load_digits-type", data.load_digits, (), dict(test_fraction="0.2"), TypeError,
     r"test_fraction must be a real number"),
    ("load_digits-nan", data.load_digits, (), dict(test_fraction=NAN), ValueError,
     r"Invalid test_fraction: nan \(expected a value in \(0, 1\)\)"),
    ("load_digits-one", data.load_digits, (), dict(test_fraction=1.0), ValueError,
     r"Invalid test_fraction: 1\.0 \(expected a value in \(0, 1\)\)"),
    ("load_digits-tiny", data.load_digits, (), dict(test_fraction=1e-4), ValueError,
     r"Invalid test_fraction: 0\.0001 \(leaves 0 of 1797 examples for testing"),
    ("load_digits-seed", data.load_digits, (), dict(seed=-1), ValueError,
     r"Invalid seed: -1 \(expected an integer >= 0\)"),
    ("load_digits-dtype", data.load_digits, (), dict(dtype=torch.int64), TypeError,
     r"dtype must be a floating torch\.dtype, got torch\.int64"),
    ("logistic_regression-classes", data.logistic_regression, (), dict(n_classes=0), ValueError,
     r"Invalid n_classes: 0 \(expected an integer >= 1\)"),
    ("logistic_regression-features", data.logistic_regression, (), dict(n_features=6.4),
     TypeError, r"n_features must be an int, got float"),
    ("mlp-depth", data.mlp, (), dict(depth=0), ValueError,
     r"Invalid depth: 0 \(expected an integer >= 1\)"),
    ("mlp-depth-float", data.mlp, (), dict(depth=1.5), TypeError, r"depth must be an int"),
    ("mlp-hidden", data.mlp, (), dict(hidden=-3), ValueError, r"Invalid hidden: -3"),
    ("mlp-seed", data.mlp, (), dict(seed="0"), TypeError, r"seed must be an int, got str"),
    ("batches-size", data.batches, (10, 0, 1), {}, ValueError,
     r"Invalid batch_size: 0 \(expected an integer >= 1\)"),
    ("batches-size-float", data.batches, (10, 2.5, 1), {}, TypeError,
     r"batch_size must be an int, got float"),
    ("batches-epochs", data.batches, (10, 2, -1), {}, ValueError,
     r"Invalid epochs: -1 \(expected an integer >= 0\)"),
    ("batches-n", data.batches, (-5, 2, 1), {}, ValueError, r"Invalid n: -5"),
    ("train-record_every", lambda **kw: data.train(
        _model(), optlib.SGD(_model().parameters()), torch.zeros(4, 1), torch.zeros(4, 1),
        epochs=1, batch_size=2, **kw), (), dict(record_every=0), ValueError,
     r"Invalid record_every: 0 \(expected an integer >= 1\)"),
    ("train-batch_size", lambda **kw: data.train(
        _model(), optlib.SGD(_model().parameters()), torch.zeros(4, 1), torch.zeros(4, 1),
        epochs=1, **kw), (), dict(batch_size=0), ValueError, r"Invalid batch_size: 0"),
    ("train-lengths", lambda: data.train(_model(), optlib.SGD(_model().parameters()),
                                         torch.zeros(4, 1), torch.zeros(3, 1), epochs=1,
                                         batch_size=2), (), {}, ValueError,
     r"X and y must have the same length, got 4 and 3"),
    ("train-optimizer", lambda: data.train(_model(), "sgd", torch.zeros(4, 1), torch.zeros(4, 1),
                                           epochs=1, batch_size=2), (), {}, TypeError,
     r"optimizer must have step\(\) and zero_grad\(\)"),
    ("evaluate-lengths", data.evaluate, (_model(), torch.zeros(4, 1), torch.zeros(5)), {},
     ValueError, r"X and y must have the same length, got 4 and 5"),
    # ------------------------------------------------------------ surfaces, sharpness, book
    ("run_on_surface-steps", surfaces.run_on_surface, (optlib.SGD, _QUAD, (1.0, 1.0), -1), {},
     ValueError, r"Invalid steps: -1 \(expected an integer >= 0\)"),
    ("run_on_surface-start", surfaces.run_on_surface, (optlib.SGD, _QUAD, (1.0,), 3), {},
     ValueError, r"Invalid start: \(1\.0,\) \(expected two finite numbers \(x, y\)\)"),
    ("run_on_surface-start-nan", surfaces.run_on_surface, (optlib.SGD, _QUAD, (NAN, 0.0), 3), {},
     ValueError, r"Invalid start"),
    ("run_on_surface-f", surfaces.run_on_surface, (optlib.SGD, "quadratic", (1.0, 1.0), 3), {},
     TypeError, r"f must be callable, got str"),
    ("run_on_surface-maker", surfaces.run_on_surface, (lambda ps: None, _QUAD, (1.0, 1.0), 3), {},
     TypeError, r"make_optimizer must return an optimizer"),
    ("run_on_surface-dtype", surfaces.run_on_surface, (optlib.SGD, _QUAD, (1.0, 1.0), 3),
     dict(dtype="float64"), TypeError, r"dtype must be a floating torch\.dtype"),
    ("top_hessian_eigenvalue-model", sharpness.top_hessian_eigenvalue,
     ("net", torch.nn.functional.mse_loss, torch.zeros(2, 1), torch.zeros(2, 1)), {}, TypeError,
     r"model must be a torch\.nn\.Module, got str"),
    ("top_hessian_eigenvalue-loss_fn", sharpness.top_hessian_eigenvalue,
     (_model(), None, torch.zeros(2, 1), torch.zeros(2, 1)), {}, TypeError,
     r"loss_fn must be callable, got NoneType"),
    ("top_hessian_eigenvalue-seed", sharpness.top_hessian_eigenvalue,
     (_model(), torch.nn.functional.mse_loss, torch.zeros(2, 1), torch.zeros(2, 1)),
     dict(seed=0.5), TypeError, r"seed must be an int, got float"),
    ("setup-threads", book.setup, (), dict(threads=0), ValueError,
     r"Invalid threads: 0 \(expected an integer >= 1\)"),
    ("setup-seed", book.setup, (), dict(seed=-1), ValueError,
     r"Invalid seed: -1 \(expected an integer in \[0, 2\*\*32 - 1\]\)"),
    ("glue-name", book.glue, (None, 1), {}, TypeError, "name must be a non-empty str, got None"),
    ("setup-seed-type", book.setup, (), dict(seed=1.5), TypeError, r"seed must be an int"),
    # ------------------------------------------------------------ plot
    ("plain_log_ticks-ax", plot.plain_log_ticks, ("not axes",), {}, TypeError,
     r"ax must be a matplotlib Axes, got str"),
    ("contour-window", plot.contour, (_QUAD, (1.0, -1.0, -1.0, 1.0)), {}, ValueError,
     r"Invalid window: .* \(expected finite xmin < xmax and ymin < ymax\)"),
    ("contour-window-len", plot.contour, (_QUAD, (0.0, 1.0)), {}, TypeError,
     r"window must be four numbers \(xmin, xmax, ymin, ymax\)"),
    ("contour-n", plot.contour, (_QUAD, _WIN), dict(n=1), ValueError,
     r"Invalid n: 1 \(expected an integer >= 2\)"),
    ("contour-levels", plot.contour, (_QUAD, _WIN), dict(levels=0), ValueError,
     r"Invalid levels: 0 \(expected an integer >= 1\)"),
    ("contour-levels-type", plot.contour, (_QUAD, _WIN), dict(levels="many"), TypeError,
     r"levels must be an int or a sequence of values, got str"),
    ("contour-f", plot.contour, (None, _WIN), {}, TypeError, r"f must be a function of \(x, y\)"),
    ("trajectories-empty", plot.trajectories, ({},), {}, TypeError,
     r"paths must be a non-empty dict of name -> array"),
    ("trajectories-shape", plot.trajectories, ({"SGD": np.zeros(5)},), {}, ValueError,
     r"paths\['SGD'\] must have shape \(steps \+ 1, 2\), got \(5,\)"),
    ("loss_curves-list", plot.loss_curves, ([1.0, 0.5],), {}, TypeError,
     r"curves must be a non-empty dict of name -> array"),
    ("loss_curves-2d", plot.loss_curves, ({"Adam": np.zeros((3, 3))},), {}, ValueError,
     r"curves\['Adam'\] must have shape \(n,\) with n >= 1, got \(3, 3\)"),
    ("loss_curves-smooth", plot.loss_curves, ({"Adam": [1.0, 0.5]},), dict(smooth=0), ValueError,
     r"Invalid smooth: 0 \(expected an integer >= 1\)"),
    ("timeline-empty", plot.timeline, ([],), {}, ValueError,
     r"events must be a non-empty sequence of \(year, label\) pairs"),
    ("timeline-pairs", plot.timeline, ([1951, 2014],), {}, ValueError,
     r"events must be a non-empty sequence of \(year, label\) pairs"),
    ("timeline-min_gap", plot.timeline, ([(1951, "SGD")],), dict(min_gap=-0.1), ValueError,
     r"Invalid min_gap: -0\.1 \(expected a finite number >= 0\)"),
    ("animate_trajectories-frames", plot.animate_trajectories, (_QUAD, _WIN, _PATH), dict(frames=0),
     ValueError, r"Invalid frames: 0 \(expected an integer >= 1\)"),
    ("animate_trajectories-frames-float", plot.animate_trajectories, (_QUAD, _WIN, _PATH), dict(frames=2.5),
     TypeError, r"frames must be an int, got float"),
    ("animate_trajectories-interval", plot.animate_trajectories, (_QUAD, _WIN, _PATH), dict(interval=0),
     ValueError, r"Invalid interval: 0"),
    ("animate_trajectories-paths", plot.animate_trajectories, (_QUAD, _WIN, {}), {}, TypeError,
     r"paths must be a non-empty dict"),
    ("display_scale-fig", plot.display_scale, (None,), {}, TypeError,
     "fig must be a matplotlib Figure, got NoneType"),
    ("display_scale-px", plot.display_scale, (plt.figure(),), dict(display_px=0), ValueError,
     r"Invalid display_px: 0 \(expected a finite number > 0\)"),
    ("legibility_problems-fig", plot.legibility_problems, ("figure",), {}, TypeError,
     "fig must be a matplotlib Figure, got str"),
    ("legibility_problems-px", plot.legibility_problems, (plt.figure(),), dict(display_px=NAN), ValueError,
     "Invalid display_px: nan"),
    ("legibility_problems-min_pt", plot.legibility_problems, (plt.figure(),), dict(min_pt=-1), ValueError,
     r"Invalid min_pt: -1 \(expected a finite number > 0\)"),
    ("animation_html-format", plot.animation_html, (None,), dict(frame_format="gif"), ValueError,
     r"Invalid frame_format: 'gif' \(expected 'png', 'jpeg', 'tiff' or 'svg'\)"),
    ("animation_html-anim", plot.animation_html, ("anim",), {}, TypeError,
     r"anim must be a matplotlib Animation, got str"),
]


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
@pytest.mark.parametrize("fn,args,kwargs,error,match", [r[1:] for r in BAD_INPUT],
                         ids=[r[0] for r in BAD_INPUT])
def test_bad_input_raises_a_clear_error(fn, args, kwargs, error, match):
    figures = plt.get_fignums()
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)
    assert plt.get_fignums() == figures, "a failed plot call left a figure behind"


def test_the_table_ids_are_unique():
    ids = [r[0] for r in BAD_INPUT]
    assert len(ids) == len(set(ids))


def test_the_table_covers_every_public_function():
    """Every public callable of optlib has a row here or in the constructor tables."""
    named = {r[0].split("-")[0] for r in BAD_INPUT}
    public = set(optlib.__all__).union(*(m.__all__ for m in (data, plot, surfaces, sharpness, book)))
    elsewhere = {"AdaBound", "AMSBound",                      # all their rows are in cases_newer.py
                 "Adafactor", "Lion",                         # in cases_recent.py
                 "SGDScheduleFree", "AdamWScheduleFree",      # in cases_schedulefree.py
                 "Prodigy", "SOAP",                           # in cases_prodigy_soap.py
                 "Muon",                           # test_muon.py, against torch.optim.Muon
                 "LRRangeTestResult", "Digits", "SURFACES",   # results and constants
                 "style", "ill_conditioned_quadratic", "rosenbrock",  # nothing to get wrong
                 "hvp_context",                               # takes no argument
                 "plain_number"}                               # passes any other value through
    missing = sorted(public - named - elsewhere)
    assert not missing, f"public functions without a bad-input row: {missing}"


# --------------------------------------------------------------------------- state_dicts
#: variants with the same state and hyper-parameter keys load into each other, as in torch
SAME_KEYS = [{"SGD", "SGDW"}, {"Adam", "AMSGrad", "AdamW"}, {"AdaBound", "AMSBound"}]
# (into, from); AMSGrad's has max_exp_avg_sq. Adam's state (step, exp_avg, exp_avg_sq) with
# groups that lack keys torch fills in for old checkpoints (amsgrad, maximize...) loads too
ALSO_ACCEPTED = {("RAdam", "Adam"), ("RAdam", "AdamW")} | {
    (into, other) for into in ("Adam", "AMSGrad", "AdamW", "RAdam")
    for other in ("AdaBound", "SWATS", "RAdam") if into != other}


def _trained(case, steps=3):
    params = make_params(torch.float64)
    opt = case.make(groups(case, params))
    run(opt, params, make_loss(params), steps)
    return opt


def _fresh(case):
    return case.make(groups(case, make_params(torch.float64, seed=3)))


@pytest.fixture(scope="module")
def saved():
    return {c.cls.__name__: _trained(c).state_dict() for c in CLASS_CASES}


@pytest.mark.parametrize("into", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_a_state_dict_of_another_optimiser_fails_at_load_time(into, saved):
    name = into.cls.__name__
    for other, state_dict in saved.items():
        if other == name:
            continue
        opt = _fresh(into)
        before = repr(opt.state_dict())
        accepted = any({name, other} <= s for s in SAME_KEYS) or (name, other) in ALSO_ACCEPTED
        if accepted:
            opt.load_state_dict(copy.deepcopy(state_dict))
            continue
        with pytest.raises(ValueError, match=rf"^{name}\.load_state_dict: "):
            opt.load_state_dict(copy.deepcopy(state_dict))
        assert repr(opt.state_dict()) == before, f"{other} -> {name}: the optimiser changed"


@pytest.mark.parametrize("case", first_per_class([c for c in OPTIMIZER_CASES if c.has_state]),
                         ids=lambda c: c.cls.__name__)
def test_a_state_dict_with_missing_keys_fails_at_load_time(case):
    opt = _trained(case)
    inner = getattr(opt, "optimizer", opt)               # Lookahead: its inner optimiser's state
    sd = copy.deepcopy(opt.state_dict())
    isd = sd                                              # Lookahead's is torch-shaped too
    name = type(inner).__name__
    inner_keys = sorted(k for k in isd["state"][1] if k != "slow_param")
    key = inner_keys[0]                                   # parameter 1 has state (a gradient)
    # with one state key, deleting it leaves {}: for Lion and SGDScheduleFree (as for their
    # references) the entry of a parameter that has no state yet, which must load
    empty_is_valid = name in {"Lion", "SGDScheduleFree"}
    if inner._state_keys(inner.param_groups[0]) and (
            len(inner_keys) > 1 or (opt is inner and not empty_is_valid)):
        del isd["state"][1][key]
        with pytest.raises(ValueError, match=rf"^{name}\.load_state_dict: the state of parameter "
                                             rf"1 lacks the keys \['{key}'\] \(it has "):
            _fresh(case).load_state_dict(copy.deepcopy(sd))
        isd["state"][1][key] = torch.zeros(())
    isd["state"][1]["bogus"] = torch.zeros(())
    with pytest.raises(ValueError, match=rf"^{name}\.load_state_dict: the state of parameter 1 has "
                                         r"the keys \['bogus'\], which"):
        _fresh(case).load_state_dict(copy.deepcopy(sd))
    del isd["state"][1]["bogus"]
    hyper = "betas" if "betas" in inner.defaults else "lr"
    del isd["param_groups"][1][hyper]
    with pytest.raises(ValueError, match=rf"^{name}\.load_state_dict: param group 1 lacks the keys "
                                         rf"\['{hyper}'\]"):
        _fresh(case).load_state_dict(copy.deepcopy(sd))
    isd["param_groups"][1][hyper] = sd["param_groups"][0][hyper]
    if isinstance(opt, optlib.Lookahead):
        del sd["param_groups"][0]["lookahead_step"]
        with pytest.raises(ValueError, match=r"Lookahead\.load_state_dict: param group 0 lacks "
                                             r"the keys \['lookahead_step'\]"):
            _fresh(case).load_state_dict(sd)


def test_a_state_dict_that_is_not_a_dict_fails():
    with pytest.raises(TypeError, match=r"Adam\.load_state_dict: state_dict must be a dict, got list"):
        _adam().load_state_dict([])


def test_a_torch_state_dict_with_parameters_without_state_still_loads():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    for twin, ours in [(torch.optim.Adam, optlib.Adam), (torch.optim.SGD, optlib.SGD),
                       (torch.optim.NAdam, optlib.NAdam), (torch.optim.RMSprop, optlib.RMSprop)]:
        kw = dict(lr=0.1, momentum=0.9) if twin is torch.optim.SGD else dict(lr=0.1)
        t = twin([a, b], **kw)
        a.grad = torch.ones(2)
        t.step()
        assert len(t.state[b]) == 0
        ours([a, b], **kw).load_state_dict(t.state_dict())
        a.grad = None


# --------------------------------------------------------------------------- non-finite gradients
REF_CASES = [c for c in OPTIMIZER_CASES if c.reference is not None]


def _nonfinite_run(case, factory, steps=7):
    """Gradients 2θ + sin θ, with a NaN at step 3, +inf at step 4 and -inf at step 6."""
    params = make_params(torch.float64)
    opt = (case.make(groups(case, params)) if factory is None
           else factory(groups(case, params), **case.kwargs))
    out = []
    for k in range(steps):
        for i, p in enumerate(params[:3]):
            g = 2 * p.detach() + torch.sin(p.detach())
            g.view(-1)[i] = {2: NAN, 3: INF, 5: -INF}.get(k, g.view(-1)[i].item())
            p.grad = g
        opt.step()
        out.append([p.detach().clone() for p in params])
    return out, opt, params


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", REF_CASES, ids=lambda c: c.id)
def test_non_finite_gradients_behave_as_in_the_reference(case):
    ours, opt1, p1 = _nonfinite_run(case, None)
    theirs, opt2, p2 = _nonfinite_run(case, case.reference)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12, equal_nan=True,
                                       msg=lambda m: f"step {k + 1}: {m}")
    # a trace in the parameter, or in the state: sign(NaN) = 0 in torch, so Lion's step
    # skips the coordinate while its momentum keeps the NaN (as lion-pytorch's does)
    state = getattr(opt1, "optimizer", opt1).state.get(p1[0], {})
    trace = ours[-1][0].isnan().any() or any(
        torch.is_tensor(v) and v.is_floating_point() and v.isnan().any()
        for v in state.values())
    assert trace, "the NaN gradient left no trace: the test is void"
    if case.exchange_state:
        for a, b in zip(p1, p2):
            for key, value in opt1.state[a].items():
                torch.testing.assert_close(value, opt2.state[b][key], rtol=1e-12, atol=1e-12,
                                           equal_nan=True, check_dtype=False)


@pytest.mark.parametrize("nan_at", [None, 0])
def test_swats_with_a_nan_gradient_in_the_adam_phase_never_switches(nan_at):
    """As its docstring says: without the NaN this run switches at step 2; with it, never."""
    a = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    opt = optlib.SWATS([a, b], lr=0.02, switch_tol=1e-3)
    for k in range(10):
        a.grad, b.grad = 2 * a.detach(), 2 * b.detach()
        if k == nan_at:
            a.grad[0] = NAN
        opt.step()
    group = opt.param_groups[0]
    if nan_at is None:
        assert (group["phase"], group["switch_step"]) == ("sgd", 2)
    else:
        assert group["phase"] == "adam" and group["lambda_avg"] != group["lambda_avg"]  # NaN
        assert a[0].isnan() and torch.isfinite(a[1]) and torch.isfinite(b).all()


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_docstring_says_what_non_finite_gradients_do(case):
    assert "non-finite" in case.cls.__doc__.lower()


# --------------------------------------------------------------------------- schedules past their end
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("ours,theirs,length", [
    (partial(optlib.CyclicLR, base_lr=0.01, max_lr=0.1, step_size_up=2),
     partial(tls.CyclicLR, base_lr=0.01, max_lr=0.1, step_size_up=2), 4),
    (partial(optlib.SGDR, T_0=3, T_mult=2),
     partial(tls.CosineAnnealingWarmRestarts, T_0=3, T_mult=2), 9),
    (partial(optlib.LinearWarmup, start_factor=0.2, total_iters=4),
     partial(tls.LinearLR, start_factor=0.2, total_iters=4), 4),
], ids=["CyclicLR", "SGDR", "LinearWarmup"])
def test_schedules_without_an_end_go_on_as_in_torch(ours, theirs, length):
    o1, o2 = _sgd(), torch.optim.SGD(_p(), lr=0.1, momentum=0.9)
    s1, s2 = ours(o1), theirs(o2)
    for _ in range(10 * length):
        for o, s in ((o1, s1), (o2, s2)):
            o.step()
            s.step()
        assert o1.param_groups[0]["lr"] == pytest.approx(o2.param_groups[0]["lr"], rel=1e-12)
