"""Settle the load jobs a killed run left *in doubt*, so finishing its package loads none twice.

dlt runs each load job (one file into one table) in one destination transaction, then writes a
marker that the job is done. A process killed between the commit and the marker leaves the job
in the package's ``started_jobs`` with no marker, and the next run loads the file again: on
PostgreSQL the copy then fails on the unique ``_dlt_id`` for good (the package stays pending
and every later run fails), on DuckDB the rows land twice.

Every row of a load file carries a ``_dlt_id`` drawn at random when it was normalized, and a job
commits all its rows or none. So one question settles a job: is the file's first ``_dlt_id``
in the job's table (the staging table of a merge, or the table itself)? If it is, the job is
recorded as completed (dlt's own marker, read by its next load), else it is left to run again.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

import dlt
import pyarrow.parquet as pq
from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.destinations.exceptions import DatabaseUndefinedRelation

log = logging.getLogger(__name__)

ROW_ID = "_dlt_id"
_SAFE_ROW_ID = re.compile(r"^[A-Za-z0-9_+/=-]{1,64}$")
_GZIP_MAGIC = b"\x1f\x8b"


class LoadFileFormatError(ValueError):
    """A load file whose first row id cannot be read (its format is not one this module reads)."""


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    if compressed:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _first_id_parquet(path: Path) -> str | None:
    parquet = pq.ParquetFile(path)
    if ROW_ID not in parquet.schema_arrow.names:
        raise LoadFileFormatError(f"{path.name}: no {ROW_ID} column")
    for group in range(parquet.num_row_groups):
        column = parquet.read_row_group(group, columns=[ROW_ID]).column(0)
        if len(column):
            return str(column[0].as_py())
    return None


def _first_id_csv(path: Path) -> str | None:
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return None
        names = [h.strip().strip('"') for h in header]
        if ROW_ID not in names:
            raise LoadFileFormatError(f"{path.name}: no {ROW_ID} column")
        first = next(reader, None)
        return first[names.index(ROW_ID)] if first else None


def _first_id_jsonl(path: Path) -> str | None:
    with _open_text(path) as f:
        for line in f:
            if line.strip():
                value = json.loads(line).get(ROW_ID)
                return None if value is None else str(value)
    return None


def _sql_values(text: str, start: int) -> Iterator[str]:
    """The top-level comma-separated values of the SQL tuple that opens at ``text[start]``."""
    depth, quote, escapes, begin, i = 0, False, False, start + 1, start
    while i < len(text):
        c = text[i]
        if quote:
            if escapes and c == "\\":
                i += 1
            elif c == "'":
                if text[i + 1 : i + 2] == "'":
                    i += 1
                else:
                    quote = False
        elif c == "'":
            quote, escapes = True, text[i - 1 : i] in ("E", "e")
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                yield text[begin:i].strip()
                return
        elif c == "," and depth == 1:
            yield text[begin:i].strip()
            begin = i + 1
        i += 1
    raise LoadFileFormatError("unterminated row in an insert_values file")


def _first_id_insert_values(path: Path) -> str | None:
    with _open_text(path) as f:
        text = f.read()
    header_end = text.find(")\n")
    if not text.startswith("INSERT INTO {}(") or header_end < 0:
        raise LoadFileFormatError(f"{path.name}: not a dlt insert_values file")
    columns = [c.strip().strip('"`') for c in text[len("INSERT INTO {}(") : header_end].split(",")]
    if ROW_ID not in columns:
        raise LoadFileFormatError(f"{path.name}: no {ROW_ID} column")
    body = text[header_end + 2 :]
    if body.startswith("VALUES\n"):
        opening = body.find("(")
    elif body.startswith("SELECT "):  # the select_union writer: SELECT v1,v2 UNION ALL ...
        body = "(" + body[len("SELECT ") :].split(" UNION ALL\n", 1)[0].rstrip(";") + ")"
        opening = 0
    else:
        return None
    if opening < 0:
        return None
    values = list(_sql_values(body, opening))
    literal = values[columns.index(ROW_ID)]
    if literal.upper() == "NULL":
        return None
    return literal.lstrip("Ee").strip("'")


_READERS = {
    "parquet": _first_id_parquet,
    "csv": _first_id_csv,
    "jsonl": _first_id_jsonl,
    "typed-jsonl": _first_id_jsonl,
    "insert_values": _first_id_insert_values,
}


def first_row_id(path: Path, file_format: str) -> str | None:
    """The ``_dlt_id`` of the first row of a load file (None for a file without rows)."""
    reader = _READERS.get(file_format)
    if reader is None:
        raise LoadFileFormatError(f"{path.name}: load file format {file_format!r} not supported")
    return reader(path)


def _holds_row(client: Any, table: str, row_id: str) -> bool:
    """Whether ``table`` holds ``row_id``, in the dataset or its staging dataset."""
    if not _SAFE_ROW_ID.match(row_id):
        raise LoadFileFormatError(f"unexpected {ROW_ID} value {row_id!r}")
    for dataset in (nullcontext(), client.with_staging_dataset()):
        with dataset:
            name = client.make_qualified_table_name(table)
            column = client.escape_column_name(ROW_ID)
            try:
                found = client.execute_sql(
                    f"select 1 from {name} where {column} = '{row_id}' limit 1"
                )
            except DatabaseUndefinedRelation:
                continue
            if found:
                return True
    return False


def settle_in_doubt_jobs(pipeline: dlt.Pipeline) -> list[str]:
    """Record as completed every in-doubt job whose rows are already in the destination.

    Returns the file names of the jobs so recorded. Jobs whose rows are not there, whose file
    cannot be read, or of a destination without SQL access are left for dlt to run again.
    """
    # dlt keeps no public handle on a package's job folders; the pipeline's own load storage
    # is what its load step uses (dlt is pinned in uv.lock, and the test kills a load here).
    packages = pipeline._get_load_storage().normalized_packages
    in_doubt: list[tuple[str, str, Path, ParsedLoadJobFileName]] = []
    for load_id in packages.list_packages():
        for relative in packages.list_started_jobs(load_id):
            name = Path(relative).name
            if packages.load_pending_transition(load_id, name) is not None:
                continue  # dlt knows how this job ended
            parsed = ParsedLoadJobFileName.parse(name)
            path = Path(packages.storage.make_full_path(relative))
            in_doubt.append((load_id, name, path, parsed))
    if not in_doubt or pipeline.destination.destination_type.endswith(".filesystem"):
        # A filesystem destination (the Spark landing) writes each job to a file named after
        # it: loading it again rewrites the same file, so no job of it can land twice.
        return []
    settled: list[str] = []
    try:
        client_context = pipeline.sql_client()
    except SqlClientNotAvailable:  # a destination without SQL (the Spark landing's files)
        return []
    with client_context as client:
        for load_id, name, path, parsed in in_doubt:
            try:
                row_id = first_row_id(path, parsed.file_format)
            except (LoadFileFormatError, OSError, ValueError) as exc:
                log.warning("%s: cannot tell whether job %s committed: %s", pipeline, name, exc)
                continue
            if row_id is not None and _holds_row(client, parsed.table_name, row_id):
                packages.save_pending_transition(load_id, name, "completed")
                settled.append(name)
                log.warning(
                    "%s: job %s of load %s had committed before the crash; recorded as completed "
                    "instead of loading it again",
                    pipeline,
                    name,
                    load_id,
                )
    return settled
