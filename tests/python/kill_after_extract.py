"""Run a loader and SIGKILL it right after dlt committed an extracted package.

dlt commits the package (its files and the schema they were written with) and saves that
schema as the pipeline's a moment later; the kill lands in between. Usage (the tests run it)::

    python kill_after_extract.py <loader> [loader arguments...]
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from dlt.extract.extract import Extract

from ingestion.cli import main

_commit = Extract.commit_packages


def _commit_then_die(self: Extract, *args: Any, **kwargs: Any) -> None:
    _commit(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    Extract.commit_packages = _commit_then_die  # type: ignore[method-assign]
    sys.exit(main(sys.argv[1:]))
