#!/bin/bash
# PyTorch's TestOptimRenewed (CPU tests of the seven twins) on torch's or optlib's classes.
#   bash scripts/torch_suite/run.sh optlib     # or: torch    (extra pytest arguments follow)
# Needs test_optim.py of PyTorch beside this script (never committed: .gitignore). The
# counts in README.md were measured with the file of commit c96bc81 of pytorch/pytorch:
#   curl -fsSLo scripts/torch_suite/test_optim.py \
#     https://raw.githubusercontent.com/pytorch/pytorch/c96bc81bc2d0c9bdacd9aa6cbda691777bd299c0/test/test_optim.py
# Its imports of torch's test/optim/ modules (not in the wheel, and not TestOptimRenewed)
# are dropped on the way; expecttest, which torch's test helpers import, goes into a
# folder of its own, outside .venv.
set -euo pipefail
impl=${1:?usage: run.sh torch|optlib [pytest arguments]}; shift
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../../.venv/bin/python}
if [ ! -f "$here/test_optim.py" ]; then
  echo "run.sh: $here/test_optim.py is missing; fetch it first (see this script's header)" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -E 's/^from optim\.test_[a-z_]+ import .*$/# (import of test\/optim dropped)/' \
  "$here/test_optim.py" > "$work/test_optim.py"
cp "$here/conftest.py" "$here/pytest.ini" "$work/"
"$python" -m pip install --quiet --target "$work/site" expecttest==0.3.0
select='TestOptimRenewed and cpu and (SGD or Adam or AdamW or Adagrad or RMSprop or NAdam
  or RAdam) and not Adamax and not SparseAdam and not ASGD'
cd "$work"
OMP_NUM_THREADS=1 TORCHSUITE_IMPL=$impl PYTHONPATH="$work/site" "$python" -m pytest \
  test_optim.py -p no:xdist -p no:cacheprovider -q -rfs -k "${select//$'\n'/}" "$@"
