"""The ``world`` command moves the ERP, the CRM and the carrier together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from source_systems.cli import main


def test_init_advance_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ERP_URL", f"sqlite:///{tmp_path}/erp.sqlite")
    monkeypatch.setenv("CRM_DB_PATH", str(tmp_path / "crm.sqlite"))
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(tmp_path / "landing"))

    assert main(["init", "--scale", "0.01", "--seed", "3"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["rows"]["lineitem"] > 0 and built["contacts"]

    assert (
        main(["advance", "--days", "2", "--new-orders-rate", "0", "--crm-new-lead-rate", "0"]) == 0
    )
    days = json.loads(capsys.readouterr().out)
    assert [d["day_number"] for d in days] == [1, 2]
    assert all(d["inserted"]["orders"] == 0 for d in days)  # the rate flag reached the ERP
    assert all(d["crm"]["leads_added"] == 0 for d in days)  # ... and the CRM
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == [
        "shipments_1998-08-03.jsonl",
        "shipments_1998-08-04.jsonl",
    ]

    assert main(["status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["day"] == 2 and status["crm"]["day"] == 2
