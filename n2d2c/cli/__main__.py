"""`python -m n2d2c.cli ...`, the same as the `n2d2c` console script."""

import sys

from . import main

sys.exit(main())
