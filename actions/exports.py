"""CSV and XLSX exports of the (filtered) action list.

CSV the way a French spreadsheet opens it without an import wizard: `;` separator, UTF-8 with a
BOM, CRLF, dates dd/mm/yyyy, decimal comma, every field quoted. Quoting matters as much as the
separator: LibreOffice's import dialog ticks comma, semicolon and tab together by default, and
an unquoted "Addictions France, Ville de Manosque" would split into two columns and shift the
row. Both formats neutralise formula injection: a cell typed by a partner that starts with
= + - @ (or a tab / carriage return) must never run as a formula on the coordinator's computer
(OWASP "CSV injection"). Control and bidi-override characters stored before they were refused
(clspdr/text.py) are stripped: openpyxl refuses the first, the second disguise the text.

The XLSX is a document the town could send as it is: one named font (Arial, which LibreOffice
replaces by the metric-compatible Liberation Sans instead of falling back to a serif), a bold
wrapped header row that stays frozen and repeats on every printed page, columns sized to their
content within bounds, and A4 landscape printing one page wide. Both files are named after what
they hold and the day: `plan-actions-manosque-axe-2-2026-11-29.xlsx`.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from io import BytesIO
from typing import TYPE_CHECKING, cast
from urllib.parse import quote

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.properties import PageSetupProperties

from actions.models import Status
from actions.selectors import with_budget_total
from clspdr.text import strip_invisible

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

    from actions.filters import ActionFilterSet
    from actions.models import Action

Value = str | int | Decimal | datetime.date | None

COLUMNS: tuple[tuple[str, int], ...] = (  # header, widest XLSX column in characters
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
# Installed with every Office, and metric-compatible with LibreOffice's Liberation Sans: the
# columns sized here fit the text in both. `scheme=None`: not the theme's font (Calibri).
FONT_NAME = "Arial"
FONT_SIZE = 10
MIN_WIDTH = 6
SHEET_TITLE = "Plan d'actions"
A4 = 9  # ECMA-376 paper size code


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


def filename(
    extension: str, filters: Sequence[str] = (), today: datetime.date | None = None
) -> str:
    """`plan-actions-<town>[-<filters>]-<day>.<extension>`, ASCII only (slugify drops accents)."""
    day = today or timezone.localdate()
    parts = ["plan-actions", slugify(settings.TOWN_NAME), *filters, f"{day:%Y-%m-%d}"]
    return "-".join(part for part in parts if part) + f".{extension}"


def filter_names(filterset: ActionFilterSet) -> list[str]:
    """What a valid filter set keeps, as file-name words: `axe-2`, `statut-en-cours`..."""
    data = filterset.form.cleaned_data
    names = []
    if data.get("strategie") and filterset.strategy is not None:
        names.append(f"strategie-{filterset.strategy.start_year}-{filterset.strategy.end_year}")
    if data.get("axe"):
        names.append(f"axe-{data['axe'].number}")
    if data.get("statut"):
        names.append(f"statut-{slugify(dict(Status.choices)[data['statut']])}")
    if data.get("organisation"):
        organisation = data["organisation"]
        names.append(slugify(organisation.short_name or organisation.name)[:40].strip("-"))
    if (data.get("q") or "").strip():
        names.append(f"recherche-{slugify(data['q'])[:30].strip('-')}".rstrip("-"))
    if data.get("mes_actions"):
        names.append("mes-actions")
    return names


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


def csv_response(actions: QuerySet[Action], filters: Sequence[str] = ()) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # BOM: Excel then reads UTF-8, not Windows-1252
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([header for header, _ in COLUMNS])
    for row in rows(actions):
        writer.writerow([csv_cell(value) for value in row])
    return _attachment(response, filename("csv", filters))


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Value) -> Cell:
    cell = WriteOnlyCell(sheet)
    if isinstance(value, str):
        cell.value = strip_invisible(value)
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        cell.alignment = _WRAPPED
        return cell
    cell.value = value
    cell.alignment = _TOP
    if isinstance(value, datetime.date):
        cell.number_format = "DD/MM/YYYY"
    elif isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    return cell


_TOP = Alignment(vertical="top")
_WRAPPED = Alignment(vertical="top", wrap_text=True)


def _header(sheet: WriteOnlyWorksheet, headers: Sequence[str]) -> list[Cell]:
    bold = Font(name=FONT_NAME, size=FONT_SIZE, bold=True, family=2)
    shaded = PatternFill("solid", fgColor="E7E9EE")
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        cell.fill = shaded
        cell.alignment = _WRAPPED
        cells.append(cell)
    return cells


def _text_width(value: Value) -> int:
    """Characters the value takes on its longest line, as the sheet writes it."""
    if value is None:
        return 0
    if isinstance(value, datetime.date):
        return len("00/00/0000")
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    return max(len(line) for line in str(value).split("\n"))


def column_widths(table: Sequence[Sequence[Value]]) -> list[int]:
    """Each column as wide as its content, within bounds: a long title wraps at its column's
    widest; a header wraps between its words, so its longest word is the least it needs."""
    widths = []
    for index, (header, widest) in enumerate(COLUMNS):
        needed = max((_text_width(row[index]) for row in table), default=0)
        longest_word = max(len(word) for word in header.split())
        widths.append(min(max(needed, longest_word, MIN_WIDTH) + 2, widest))
    return widths


def _use_font(workbook: Workbook) -> None:
    # The workbook's default font (index 0, the "Normal" style) is the one every unstyled cell
    # uses; openpyxl has no public setter for it in write-only mode.
    font = Font(name=FONT_NAME, size=FONT_SIZE, family=2)
    workbook._fonts = IndexedList([font])  # type: ignore[attr-defined]
    workbook._named_styles["Normal"].font = font  # type: ignore[attr-defined]


def _print_setup(sheet: Worksheet, day: datetime.date) -> None:
    """Set on the write-only sheet, which carries the same print settings (untyped there)."""
    sheet.print_title_rows = "1:1"  # the header row on every printed page
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = A4
    sheet.page_setup.fitToWidth = 1  # every column on the page...
    sheet.page_setup.fitToHeight = 0  # ...and as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.gridLines = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    # `&` starts a header code: a site name with one must double it.
    header, footer = sheet.oddHeader, sheet.oddFooter
    assert header is not None and footer is not None  # openpyxl creates them with the sheet
    header.center.text = f"{SHEET_TITLE} — {settings.SITE_NAME}".replace("&", "&&")
    footer.left.text = f"Export du {french_date(day)}"
    footer.right.text = "Page &P / &N"


def xlsx_response(actions: QuerySet[Action], filters: Sequence[str] = ()) -> HttpResponse:
    day = timezone.localdate()
    table = list(rows(actions))
    workbook = Workbook(write_only=True)
    _use_font(workbook)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(column_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    _print_setup(cast("Worksheet", sheet), day)
    sheet.append(_header(sheet, [header for header, _ in COLUMNS]))
    for row in table:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    return _attachment(response, filename("xlsx", filters, day))
