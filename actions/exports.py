"""CSV and XLSX exports of the (filtered) action list.

CSV the way a French spreadsheet opens it without an import wizard: `;` separator, UTF-8 with a
BOM, CRLF, dates dd/mm/yyyy, decimal comma, every field quoted. Quoting matters as much as the
separator: LibreOffice's import dialog ticks comma, semicolon and tab together by default, and
an unquoted "Addictions France, Ville de Manosque" would split into two columns and shift the
row. Both formats neutralise formula injection: a cell typed by a partner that starts with
= + - @ (or a tab / carriage return) must never run as a formula on the coordinator's computer
(OWASP "CSV injection"). Control and bidi-override characters stored before they were refused
(clspdr/text.py) are stripped: openpyxl refuses the first, the second disguise the text.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from io import BytesIO
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from actions.selectors import with_budget_total
from clspdr.text import strip_invisible

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from actions.models import Action

Value = str | int | Decimal | datetime.date | None

COLUMNS: tuple[tuple[str, int], ...] = (  # header, XLSX width in characters
    ("Axe", 40),
    ("N°", 8),
    ("Intitulé", 60),
    ("Pilote", 30),
    ("Contributeurs", 45),
    ("Statut", 14),
    ("Avancement (%)", 15),
    ("Date de début", 14),
    ("Date de fin", 14),
    ("Dernière mise à jour", 20),
    ("Budget total (€)", 17),
)
CENT = Decimal("0.01")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet told another separator than ours (or none of our quoting) starts a new cell
# after any of these, so a formula character there is as dangerous as at the start.
_FORMULA_CELL_START = re.compile(r"(?:^|(?<=[,;\t\r\n]))(?=[=+\-@])")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_queryset(actions: QuerySet[Action]) -> QuerySet[Action]:
    """Everything a row needs, in three queries whatever the number of rows."""
    return with_budget_total(
        actions.select_related("axis", "lead_organisation").prefetch_related("contributors")
    )


def rows(actions: QuerySet[Action]) -> Iterator[tuple[Value, ...]]:
    for action in export_queryset(actions):
        last_update = action.last_update_at
        yield (
            f"{action.axis.number}. {action.axis.title}",
            action.code,
            action.title,
            action.lead_organisation.name if action.lead_organisation else "",
            ", ".join(org.name for org in action.contributors.all()),
            action.get_status_display(),
            action.progress,
            action.start_date,
            action.end_date,
            timezone.localdate(last_update) if last_update else None,
            _euros(action.budget_total),  # type: ignore[attr-defined]
        )


def _euros(amount: Decimal | None) -> Decimal | None:
    # SQLite sums decimals as floats: 2000.5 must still read 2000,50.
    return None if amount is None else Decimal(amount).quantize(CENT)


def filename(extension: str, today: datetime.date | None = None) -> str:
    day = today or timezone.localdate()
    return f"plan-action-{slugify(settings.TOWN_NAME)}-{day:%Y-%m-%d}.{extension}"


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    # Both forms: `filename*` for RFC 6266 clients, the plain one for the others.
    response["Content-Disposition"] = (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


def neutralise(text: str) -> str:
    """An apostrophe makes spreadsheets read the cell as text, not as a formula: before the
    text, and before any formula character a reader could see as the start of a cell."""
    text = _FORMULA_CELL_START.sub("'", strip_invisible(text))
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def french_date(day: datetime.date) -> str:
    # Not strftime: "%Y" writes year 1 as "1", and a spreadsheet reads 01/01/1 as 2001.
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return french_date(value)
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",")
    if isinstance(value, int):
        return str(value)
    return neutralise(value)


def csv_response(actions: QuerySet[Action]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # BOM: Excel then reads UTF-8, not Windows-1252
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([header for header, _ in COLUMNS])
    for row in rows(actions):
        writer.writerow([csv_cell(value) for value in row])
    return _attachment(response, filename("csv"))


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Value) -> Cell:
    cell = WriteOnlyCell(sheet)
    if isinstance(value, str):
        cell.value = strip_invisible(value)
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        return cell
    cell.value = value
    if isinstance(value, datetime.date):
        cell.number_format = "DD/MM/YYYY"
    elif isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    return cell


def _header(sheet: WriteOnlyWorksheet, headers: Sequence[str]) -> list[Cell]:
    bold = Font(bold=True)
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        cells.append(cell)
    return cells


def xlsx_response(actions: QuerySet[Action]) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Plan d'action")
    sheet.freeze_panes = "A2"
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append(_header(sheet, [header for header, _ in COLUMNS]))
    for row in rows(actions):
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    return _attachment(response, filename("xlsx"))
