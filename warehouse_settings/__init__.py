"""Settings every layer shares: where the project lives and the defaults of its locations.

A neutral module: it imports nothing of the project, so the demo world (``source_systems``),
the loaders (``ingestion``) and the jobs that run the warehouse (``orchestration``) can all
take their paths from here without importing one another (the import contracts in
``pyproject.toml`` check that).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The repository root: ``dbt_project.yml``, ``profiles.yml`` and ``.dlt/`` live here."""

DATA_DIR = PROJECT_ROOT / "data"
"""Local files of the demo: the ERP and CRM stores, the landing folder, the warehouse."""

ERP_URL_ENV = "ERP_URL"
DEFAULT_ERP_URL = "sqlite:///data/erp.sqlite"
"""The ERP's SQLAlchemy URL when ``ERP_URL`` is unset (relative to the project root)."""

CARRIER_LANDING_DIR_ENV = "CARRIER_LANDING_DIR"
DEFAULT_CARRIER_LANDING_DIR = "data/landing/carrier"
"""The carrier's landing folder when ``CARRIER_LANDING_DIR`` is unset."""


def project_path(path: str | Path) -> Path:
    """``path`` as an absolute path; a relative one is taken from the project root."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


def absolute_sqlite_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute against the project root."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(PROJECT_ROOT / url.removeprefix("sqlite:///"))
    return url


def erp_url(url: str | None = None) -> str:
    """The ERP URL: the argument, else ``ERP_URL``, else :data:`DEFAULT_ERP_URL`.

    A relative SQLite path is made absolute against the project root, so every tool (the
    simulator, the dlt loader, the tests) points at the same file whatever its working dir.
    """
    return absolute_sqlite_url(url or os.environ.get(ERP_URL_ENV) or DEFAULT_ERP_URL)


def carrier_landing_dir(path: str | Path | None = None) -> Path:
    """The carrier's landing folder: the argument, else ``CARRIER_LANDING_DIR``, else default.

    Relative paths are taken from the project root.
    """
    chosen = path or os.environ.get(CARRIER_LANDING_DIR_ENV) or DEFAULT_CARRIER_LANDING_DIR
    return project_path(chosen)
