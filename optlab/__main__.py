"""``python -m optlab``: see :mod:`optlab.cli`."""

import sys

from .cli import main

sys.exit(main())
