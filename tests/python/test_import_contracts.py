"""The layering is enforced: the import contracts hold, and they break on an offending import.

The contracts are ``[tool.importlinter]`` in ``pyproject.toml``, checked by ``lint-imports``
(a pre-commit hook, so ``make lint``). Here they run on the project as it is, and on a copy
of it with one offending import added, which must fail with the contract that forbids it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse_settings import PROJECT_ROOT

PACKAGES = ("warehouse_settings", "source_systems", "ingestion", "orchestration", "scheduling")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``root`` with ``root``'s pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_project_keeps_its_import_contracts() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied without caches."""
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "offending_import", "contract"),
    [
        (
            "ingestion/erp/settings.py",
            "from source_systems.erp.schema import TABLES_BY_NAME",
            "Loaders never import the demo world BROKEN",
        ),
        (
            "ingestion/runner.py",
            "import orchestration.dbt",
            "Layers: the jobs above the loaders; the demo world beside them, below the jobs BROKEN",
        ),
        (
            "orchestration/run.py",
            "import scheduling.definitions",
            "Layers: the jobs above the loaders; the demo world beside them, below the jobs BROKEN",
        ),
        (
            "source_systems/world.py",
            "import ingestion.cli",
            "Layers: the jobs above the loaders; the demo world beside them, below the jobs BROKEN",
        ),
        (
            "orchestration/cli.py",
            "from source_systems.erp.simulate import Simulator",
            "The jobs use the demo world through its public API only (source_systems.world) BROKEN",
        ),
        (
            "warehouse_settings/__init__.py",
            "import ingestion.runner",
            "warehouse_settings imports nothing of the project BROKEN",
        ),
    ],
)
def test_an_offending_import_breaks_its_contract(
    project_copy: Path, module: str, offending_import: str, contract: str
) -> None:
    assert lint_imports(project_copy).returncode == 0  # the copy itself is clean

    path = project_copy / module
    text = path.read_text()
    # after the module's own imports, where a careless edit would put it
    anchor = text.index("\nfrom __future__ import annotations\n") + len(
        "\nfrom __future__ import annotations\n"
    )
    path.write_text(text[:anchor] + f"\n{offending_import}  # noqa\n" + text[anchor:])

    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
    assert module.removesuffix(".py").replace("/", ".").removesuffix(".__init__") in result.stdout
