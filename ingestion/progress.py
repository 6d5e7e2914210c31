"""What a load shows while it runs: rows and rows/s per table on a terminal, nothing otherwise.

dlt reports its progress to a *collector*. :func:`progress_collector` picks one from
``LOADER_PROGRESS``:

* unset: a progress bar per table (:class:`RowsProgress`, dlt's tqdm collector counting rows)
  when standard error is a terminal; nothing when it is not (cron, CI, a pipe, a log file);
* ``bar`` (or ``tqdm``): the bars even when standard error is not a terminal;
* ``log``: dlt's log collector, a line per step with the counts every few seconds (for logs);
* ``off`` (or ``0``, ``none``, ``false``): nothing.

In the extract step a bar counts the rows of each table as they are read, with the rate
(``rows/s``); normalize counts rows per table again, load counts jobs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from dlt.common.runtime.collector import NULL_COLLECTOR, Collector, LogCollector, TqdmCollector

PROGRESS_ENV = "LOADER_PROGRESS"
"""Environment variable choosing the progress display (see the module's docstring)."""

_OFF = {"0", "off", "none", "false", "no"}
_BARS = {"bar", "bars", "tqdm"}

_UNITS = {"Resources": "resources", "Files": "files", "Jobs": "jobs"}
"""dlt's counters that count something else than rows; every other counter is a table."""


class RowsProgress(TqdmCollector):
    """dlt's tqdm collector with one bar per table counting rows (``rows/s``), on stderr."""

    def __init__(self) -> None:
        """A bar per counter on standard error (dlt clears them when its step ends)."""
        super().__init__(single_bar=False, file=sys.stderr, unit_scale=True)

    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str = "",
    ) -> None:
        """Count ``inc`` more of counter ``name``; a new counter gets a bar of its unit."""
        self.tqdm_kwargs["unit"] = _UNITS.get(name, "rows")
        super().update(name, inc, total, inc_total, message, label)  # type: ignore[arg-type]


def progress_collector() -> Collector:
    """The progress display chosen by ``LOADER_PROGRESS`` and whether stderr is a terminal."""
    choice = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if choice in _OFF:
        return NULL_COLLECTOR
    if choice in _BARS:
        return RowsProgress()
    if choice:  # "log", or any other value (what LOADER_PROGRESS=1 meant before the bars)
        return LogCollector()
    return RowsProgress() if _stderr_is_terminal() else NULL_COLLECTOR


def _stderr_is_terminal() -> bool:
    stream: Any = sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
