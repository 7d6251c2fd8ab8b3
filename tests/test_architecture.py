"""The layering rules of docs/architecture.md, checked by import-linter on every test run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_domain_has_no_floats_in_money_paths() -> None:
    offenders = []
    for path in (ROOT / "src" / "openbill" / "domain").glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if "float(" in code or ": float" in code or "-> float" in code:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
