"""Entry point of ``python -m cart_lib``."""

import sys

from .cli import main

sys.exit(main())
