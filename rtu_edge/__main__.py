"""``python -m rtu_edge ...``: the ``rtu-edge`` command."""

import sys

from .cli import main

sys.exit(main())
