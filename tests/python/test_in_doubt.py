"""The first row id of each kind of dlt load file, read back from files dlt itself wrote."""

from __future__ import annotations

from pathlib import Path

import dlt
import pyarrow.csv as pv
import pytest
from dlt.common.destination import TLoaderFileFormat

from ingestion.in_doubt import LoadFileFormatError, first_row_id

# Values that break a naive reader: quotes, backslashes, separators, brackets, a newline, a
# null. Every column has a value in the first row: a column first seen in a later row makes
# dlt start a new file for csv (a fixed header), and the test reads one file per load.
AWKWARD = [
    {"id": 1, "note": "it's a \\ back'slash, (with) \"quotes\"\nand a newline", "n": 2.5},
    {"id": 2, "note": "plain", "n": None},
]


@pytest.mark.parametrize("file_format", ["insert_values", "parquet", "csv", "jsonl"])
def test_first_row_id_is_read_from_a_real_load_file(
    tmp_path: Path, file_format: TLoaderFileFormat
) -> None:
    destination = (
        dlt.destinations.filesystem(str(tmp_path / "files"))
        if file_format == "csv"
        else dlt.destinations.duckdb(str(tmp_path / "w.duckdb"))
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"doubt_{file_format.replace('-', '_')}",
        destination=destination,
        dataset_name="d",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run(AWKWARD, table_name="t", loader_file_format=file_format)
    files = [
        p
        for p in (tmp_path / "dlt").rglob("completed_jobs/t.*")
        if p.is_file() and file_format.split("_")[0] in p.name
    ]
    assert len(files) == 1, files
    row_id = first_row_id(files[0], file_format)
    assert row_id is not None
    if file_format == "csv":  # DuckDB takes no csv, the filesystem destination no SQL: Arrow's
        table = pv.read_csv(files[0])  # own csv reader (gzip by the file's suffix) is the check
        assert row_id == table.column("_dlt_id")[0].as_py()
        assert table.column("id")[0].as_py() == 1
        return
    with pipeline.sql_client() as client:
        ids = {r[0] for r in client.execute_sql("select _dlt_id from t") or []}
        first = (client.execute_sql("select _dlt_id from t where id = 1") or [[None]])[0][0]
    assert row_id in ids
    assert row_id == first


def test_a_file_without_row_ids_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.abc.0.csv"
    path.write_text("id,note\n1,x\n")
    with pytest.raises(LoadFileFormatError, match="no _dlt_id"):
        first_row_id(path, "csv")
    with pytest.raises(LoadFileFormatError, match="not supported"):
        first_row_id(path, "model")
