#!/bin/bash
# PyTorch's TestLRScheduler, the tests of its four schedulers that optlib twins, on
# torch's or optlib's classes (CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts -> SGDR,
# LinearLR -> LinearWarmup; conftest_schedulers.py swaps them).
#   bash scripts/torch_suite/run_schedulers.sh optlib   # or: torch   (pytest arguments follow)
# Needs test_lrscheduler.py of PyTorch beside this script (never committed: .gitignore);
# it fetches nothing itself. The counts were measured with the file of commit 70f3645 of
# pytorch/pytorch (83969 bytes):
#   curl -fsSLo scripts/torch_suite/test_lrscheduler.py \
#     https://raw.githubusercontent.com/pytorch/pytorch/70f364554f849d6ea059ddf7e985e8eaa6c4320f/test/optim/test_lrscheduler.py
# Two of its tests predate the installed torch (2.13) and fail on torch's own classes, so
# they are adapted on the way, as later revisions of the file did:
#   - test_cycle_lr_cycle_momentum_fail_with_momentumless_optimizer: CyclicLR now cycles
#     Adam's beta1, so the optimizer without momentum is Rprop, not Adam;
#   - test_cycle_lr_state_dict_picklable: _scale_fn_ref is now a plain function, not a
#     weakref.WeakMethod (the file gets `import types` for the check).
# The selection: every test whose body names one of the four classes (44 with the
# parametrized ones). expecttest, which torch's test helpers import, is installed into a
# folder of its own, outside .venv, unless the Python already has it.
set -euo pipefail
impl=${1:?usage: run_schedulers.sh torch|optlib [pytest arguments]}; shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
if [ ! -f "$here/test_lrscheduler.py" ]; then
  echo "run_schedulers.sh: $here/test_lrscheduler.py is missing; fetch it first" \
    "(see this script's header)" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -E \
  -e 's/^import weakref$/import weakref\nimport types  # (added by run_schedulers.sh)/' \
  -e 's/(\(scheduler\._scale_fn_ref, )weakref\.WeakMethod\)/\1types.FunctionType)/' \
  -e 's/CyclicLR\(adam_opt(, base_lr=1, max_lr=5, cycle_momentum=True\))$/CyclicLR(optim.Rprop(self.net.parameters())\1/' \
  "$here/test_lrscheduler.py" > "$work/test_lrscheduler.py"
for adapted in '^import types  # \(added' 'types\.FunctionType\)$' 'CyclicLR\(optim\.Rprop\('; do
  if ! grep -qE "$adapted" "$work/test_lrscheduler.py"; then
    echo "run_schedulers.sh: an adaptation ($adapted) found nothing to change; is" \
      "test_lrscheduler.py the file of the header's commit?" >&2
    exit 2
  fi
done
cp "$here/conftest_schedulers.py" "$work/conftest.py"
cp "$here/pytest.ini" "$work/"
site=$work/site
if "$python" -c 'import expecttest' 2>/dev/null; then
  site=
else
  "$python" -m pip install --quiet --target "$site" expecttest==0.3.0
fi
select='cycle_lr or onecycle or then_cyclic or warmrestarts or linearlr or chained_lr2
  or chained_lr3 or compound_reduce_lr_on_plateau5'
cd "$work"
OMP_NUM_THREADS=1 TORCHSUITE_IMPL=$impl TORCHSUITE_ROOT=$root PYTHONPATH=$site \
  "$python" -m pytest test_lrscheduler.py -p no:xdist -p no:cacheprovider -q -rfs \
  -k "${select//$'\n'/}" "$@"
