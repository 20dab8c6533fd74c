"""Open an export the way a French user does: LibreOffice Calc (Debian's libreoffice-calc-nogui,
installed by bin/system-deps), headless, converting to XLSX, then read the cells back; or printing
it to PDF, then read its pages' sizes and fonts."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

# LibreOffice's CSV import with the options its dialog shows by default in French: comma,
# semicolon and tab all ticked as separators, `"` as text delimiter, UTF-8, French locale.
CSV_DEFAULT_IMPORT = "CSV:44/59/9,34,76,1,,1036"


def _convert(path: Path, to: str, infilter: str | None = None) -> Path:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice not found: run `bin/system-deps` (libreoffice-calc-nogui).")
    outdir = path.parent / "converted"
    command = [
        soffice,
        f"-env:UserInstallation=file://{path.parent / 'lo-profile'}",
        "--headless",
        "--convert-to",
        to,
        "--outdir",
        str(outdir),
    ]
    if infilter:
        command.append(f"--infilter={infilter}")
    subprocess.run([*command, str(path)], check=True, capture_output=True, timeout=120)
    return outdir / f"{path.stem}.{to}"


def libreoffice_open(path: Path, *, infilter: str | None = None) -> Workbook:
    """The workbook LibreOffice makes of `path` (a CSV or an XLSX)."""
    return load_workbook(_convert(path, "xlsx", infilter))


@dataclass(frozen=True)
class PrintedPages:
    sizes: list[tuple[float, float]]  # width, height in points, page by page
    fonts: set[str]  # the fonts embedded, subset prefix dropped ("DejaVuSans-Bold")


def libreoffice_print(path: Path) -> PrintedPages:
    """What LibreOffice prints of `path`: its PDF export, read without a PDF library (the
    page objects and font names of LibreOffice's PDFs are not compressed)."""
    pdf = _convert(path, "pdf").read_bytes()
    boxes = re.findall(rb"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*([^\]]*)\]", pdf, re.S)
    sizes = [tuple(float(n) for n in box.split()[2:4]) for box in boxes]
    fonts = {name.decode().split("+")[-1] for name in re.findall(rb"/BaseFont\s*/([\w+-]+)", pdf)}
    return PrintedPages(sizes=sizes, fonts=fonts)
