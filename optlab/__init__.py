"""optlab: the experiment side of the book "Optimization for Deep Learning".

Workloads (:mod:`optlab.workloads`), optimiser names over optlib
(:mod:`optlab.optimizers`), one trial (:mod:`optlab.trial`), a resumable sweep kept in
an Optuna storage (:mod:`optlab.store`), the fair protocol and its statistics
(:mod:`optlab.protocol`) and a command line (``python -m optlab``). optlab imports
optlib; optlib never imports optlab.
"""

__version__ = "0.1.0"
