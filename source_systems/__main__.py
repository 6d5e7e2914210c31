"""``python -m source_systems`` is the ``world`` command."""

import sys

from source_systems.cli import main

sys.exit(main())
