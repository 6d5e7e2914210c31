"""Run a loader and SIGKILL it the moment one table's load job has committed in the warehouse.

The kill lands where a crash is worst for exactly-once loading: the destination has committed
the job's rows, dlt has not yet recorded the job as done. Usage (the tests run it)::

    python kill_after_commit.py <table> <loader> [loader arguments...]
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from dlt.common.storages.load_package import PackageStorage

from ingestion.cli import main

_record = PackageStorage.save_pending_transition


def _record_or_die(
    self: PackageStorage, load_id: str, file_name: str, state: str, *args: Any, **kwargs: Any
) -> None:
    # dlt calls this right after a job's transaction committed, to record how it ended.
    if state == "completed" and file_name.split(".")[0] == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    _record(self, load_id, file_name, state, *args, **kwargs)


if __name__ == "__main__":
    PackageStorage.save_pending_transition = _record_or_die  # type: ignore[method-assign]
    sys.exit(main(sys.argv[2:]))
