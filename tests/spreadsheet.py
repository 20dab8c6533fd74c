"""Open an export the way a French user does: LibreOffice Calc (Debian's libreoffice-calc-nogui,
installed by bin/system-deps), headless, converting to XLSX, then read the cells back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

# LibreOffice's CSV import with the options its dialog shows by default in French: comma,
# semicolon and tab all ticked as separators, `"` as text delimiter, UTF-8, French locale.
CSV_DEFAULT_IMPORT = "CSV:44/59/9,34,76,1,,1036"


def libreoffice_open(path: Path, *, infilter: str | None = None) -> Workbook:
    """The workbook LibreOffice makes of `path` (a CSV or an XLSX)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice not found: run `bin/system-deps` (libreoffice-calc-nogui).")
    outdir = path.parent / "converted"
    command = [
        soffice,
        f"-env:UserInstallation=file://{path.parent / 'lo-profile'}",
        "--headless",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(outdir),
    ]
    if infilter:
        command.append(f"--infilter={infilter}")
    subprocess.run([*command, str(path)], check=True, capture_output=True, timeout=120)
    return load_workbook(outdir / f"{path.stem}.xlsx")
