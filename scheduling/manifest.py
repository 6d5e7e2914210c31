"""The dbt manifest Dagster reads its dbt assets from: parsed once, again only after a change.

``dagster-dbt``'s ``prepare_if_dev()`` parses the project on every code-server load (about a
minute here, with ``dbt`` needed on ``PATH``). Instead the manifest is parsed into
``<DBT_TARGET_PATH>/dagster/`` when it is missing or older than a file of the dbt project,
in-process (``dbtRunner``), so a reload of the code location reads it in well under a second.
"""

import logging
from pathlib import Path

from orchestration.dbt import run_dbt
from scheduling import settings
from warehouse_settings import PROJECT_ROOT

log = logging.getLogger("warehouse.scheduling")

PROJECT_FILES = ("dbt_project.yml", "packages.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "snapshots", "seeds", "macros", "tests", "analyses")
"""What a parse reads: a change to any of these makes the manifest stale."""


def _newest_project_file() -> float:
    stamps = [
        (PROJECT_ROOT / name).stat().st_mtime
        for name in PROJECT_FILES
        if (PROJECT_ROOT / name).exists()
    ]
    for folder in PROJECT_FOLDERS:
        root = PROJECT_ROOT / folder
        if root.is_dir():
            stamps += [p.stat().st_mtime for p in root.rglob("*") if p.is_file()]
    return max(stamps, default=0.0)


def manifest_path() -> Path:
    """``manifest.json`` of Dagster's dbt assets (parsed here when missing or stale)."""
    folder = settings.dbt_dir()
    path = folder / "manifest.json"
    if path.exists() and path.stat().st_mtime >= _newest_project_file():
        return path
    log.info("parsing the dbt project into %s (once; again only after a change)", folder)
    folder.mkdir(parents=True, exist_ok=True)
    run_dbt(["parse", "--target-path", str(folder)], settings.target())
    return path
