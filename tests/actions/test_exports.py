"""CSV and XLSX exports of the filtered action list."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from actions.exports import COLUMNS, MIN_WIDTH, csv_cell
from actions.models import Action, Funding, Status
from tests.factories import OrganisationFactory
from tests.queries import assert_constant_queries, make_actions

pytestmark = pytest.mark.django_db

CSV_URL = reverse("actions:export_csv")
XLSX_URL = reverse("actions:export_xlsx")
HEADERS = [header for header, _ in COLUMNS]


def _csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def _workbook(response):
    return load_workbook(io.BytesIO(response.content))


@pytest.fixture
def detailed(world):
    """3.5 with dates, a budget, a last update and contributors; a formula-looking title."""
    action = world.actions["ville_led"]
    Action.objects.filter(pk=action.pk).update(
        title='=HYPERLINK("http://evil.example","clic")',
        status=Status.IN_PROGRESS,
        progress=40,
        start_date=datetime.date(2024, 3, 1),
        end_date=datetime.date(2027, 6, 30),
        last_update_at=datetime.datetime(2026, 11, 24, 23, 30, tzinfo=datetime.UTC),
    )
    action.contributors.add(OrganisationFactory(name="@Association"))
    Funding.objects.create(action=action, year=2024, funder="Ville", amount=Decimal("1200.50"))
    Funding.objects.create(action=action, year=2025, funder="FIPD", amount=Decimal("800"))
    return action


def test_it_sends_anonymous_visitors_to_the_login_page(world, client):
    for url in (CSV_URL, XLSX_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_it_refuses_an_outsider(world, personas, login):
    client = login(personas["outsider"])
    assert client.get(CSV_URL).status_code == 403
    assert client.get(XLSX_URL).status_code == 403


def test_it_writes_a_csv_a_french_spreadsheet_opens_directly(world, personas, login, detailed):
    response = login(personas["elu"]).get(CSV_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM
    assert response.content.decode("utf-8-sig").startswith('"Axe";"N°";"Intitulé";"Pilote";')
    assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")
    rows = _csv_rows(response)
    assert rows[0] == HEADERS
    assert [row[1] for row in rows[1:]] == ["1.1", "3.1", "3.5"]
    row = rows[3]
    assert row[0] == "3. Tranquillité publique"
    assert row[3] == "Ville de Manosque"
    assert row[4] == "'@Association, Habitations de Haute-Provence"
    assert row[5] == "En cours"
    assert row[6] == "40"
    assert row[7:9] == ["01/03/2024", "30/06/2027"]
    assert row[9] == "25/11/2026"  # 23:30 UTC is already the 25th in Paris
    assert row[10] == "2000,50"
    assert rows[1][10] == ""  # no funding, no budget


def test_it_neutralises_formulas_in_csv(world, personas, login, detailed):
    rows = _csv_rows(login(personas["elu"]).get(CSV_URL))
    assert rows[3][2] == '\'=HYPERLINK("http://evil.example","clic")'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 4 92 00 00 00", "'+33 4 92 00 00 00"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("x,=cmd|' /C calc'!A0", "x,'=cmd|' /C calc'!A0"),
        ("a;+1\tb\t-2\n@x", "a;'+1\tb\t'-2\n'@x"),
        ("Ville - Police, +33", "Ville - Police, +33"),
        ("Prévention", "Prévention"),
        (Decimal("12.5"), "12,5"),
        (datetime.date(2026, 1, 5), "05/01/2026"),
        (None, ""),
        (0, "0"),
    ],
)
def test_it_formats_csv_cells_for_french_spreadsheets(value, expected):
    assert csv_cell(value) == expected


def test_it_names_the_file_after_the_town_and_the_day(world, personas, login):
    today = timezone.localdate().isoformat()
    response = login(personas["elu"]).get(CSV_URL)
    name = f"plan-actions-manosque-{today}.csv"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    response = login(personas["elu"]).get(XLSX_URL)
    assert f'filename="plan-actions-manosque-{today}.xlsx"' in response["Content-Disposition"]


def test_it_names_the_file_after_its_filters_in_ascii(world, personas, login):
    today = timezone.localdate().isoformat()
    college = world.organisations["college"]
    query = {
        "axe": world.axes[1].pk,
        "statut": Status.IN_PROGRESS,
        "organisation": college.pk,
        "q": "Sécurité à l'école",
        "mes_actions": "on",
    }
    client = login(personas["coordination"])
    for url, extension in ((CSV_URL, "csv"), (XLSX_URL, "xlsx")):
        disposition = client.get(url, query)["Content-Disposition"]
        name = (
            "plan-actions-manosque-axe-3-statut-en-cours-college-jean-giono"
            f"-recherche-securite-a-lecole-mes-actions-{today}.{extension}"
        )
        assert disposition == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
        assert disposition.isascii()


def test_it_names_the_strategy_only_when_one_is_asked_for(world, personas, login):
    today = timezone.localdate().isoformat()
    client = login(personas["coordination"])
    response = client.get(XLSX_URL, {"strategie": world.strategy.slug, "axe": world.axes[0].pk})
    expected = f"plan-actions-manosque-strategie-2023-2027-axe-1-{today}.xlsx"
    assert f'filename="{expected}"' in response["Content-Disposition"]


def test_it_exports_only_the_filtered_actions(world, personas, login):
    college = world.organisations["college"]
    client = login(personas["elu"])
    rows = _csv_rows(client.get(CSV_URL, {"organisation": college.pk, "axe": world.axes[1].pk}))
    assert [row[1] for row in rows[1:]] == ["3.1"]
    sheet = _workbook(client.get(XLSX_URL, {"organisation": college.pk})).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["1.1", "3.1"]


def test_it_writes_an_xlsx_workbook(world, personas, login, detailed):
    response = login(personas["elu"]).get(XLSX_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = _workbook(response).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[1].value for row in rows] == ["1.1", "3.1", "3.5"]
    row = rows[2]
    assert row[6].value == 40  # a number, not text
    assert row[7].value == datetime.datetime(2024, 3, 1)
    assert row[7].number_format == "DD/MM/YYYY"
    assert row[9].value == datetime.datetime(2026, 11, 25)
    assert row[10].value == pytest.approx(2000.5)
    assert rows[0][7].value is None


def test_it_lays_the_xlsx_out_as_a_document_to_send(world, personas, login, detailed):
    """A named sans-serif font, a bold wrapped header frozen on screen and repeated on every
    printed page, columns sized to their content, A4 landscape one page wide."""
    today = timezone.localdate().isoformat()
    response = login(personas["elu"]).get(XLSX_URL)
    assert f'filename="plan-actions-manosque-{today}.xlsx"' in response["Content-Disposition"]
    workbook = _workbook(response)
    sheet = workbook.active

    assert workbook._named_styles["Normal"].font.name == "Arial"
    assert workbook._fonts[0].name == "Arial"
    assert {cell.font.name for row in sheet.iter_rows() for cell in row} == {"Arial"}
    assert all(cell.font.bold and cell.alignment.wrap_text for cell in sheet[1])
    assert sheet.cell(row=2, column=3).alignment.wrap_text
    assert sheet.freeze_panes == "A2"
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert "Page &P / &N" in sheet.oddFooter.right.text


TITLE_MAX = 300  # Action.title's max_length, which PostgreSQL enforces


def test_it_sizes_the_xlsx_columns_to_their_content_within_bounds(world, personas, login):
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(
        title="T" * TITLE_MAX, status=Status.ABANDONED
    )
    sheet = _workbook(login(personas["elu"]).get(XLSX_URL)).active
    widths = {
        header: sheet.column_dimensions[get_column_letter(index)].width
        for index, header in enumerate(HEADERS, start=1)
    }
    assert widths["Intitulé"] == dict(COLUMNS)["Intitulé"]  # the longest title wraps there
    assert widths["N°"] == MIN_WIDTH + 2  # "3.5" needs little
    assert widths["Statut"] == len("Abandonnée") + 2
    assert widths["Dernière mise à jour"] == len("Dernière") + 2  # the header wraps
    assert all(width <= dict(COLUMNS)[header] for header, width in widths.items())


def test_it_writes_formula_looking_text_as_plain_strings_in_xlsx(world, personas, login, detailed):
    sheet = _workbook(login(personas["elu"]).get(XLSX_URL)).active
    title = sheet.cell(row=4, column=3)
    assert title.value == '=HYPERLINK("http://evil.example","clic")'
    assert title.data_type == "s"
    contributors = sheet.cell(row=4, column=5)
    assert contributors.value.startswith("@Association")
    assert contributors.data_type == "s"


def test_it_runs_the_same_queries_for_the_csv_with_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["police"])
    assert_constant_queries(client, CSV_URL, world.axes[0], django_assert_num_queries)
    assert len(_csv_rows(client.get(CSV_URL))) == 1 + 3 + 50


def test_it_runs_the_same_queries_for_the_xlsx_with_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["police"])
    assert_constant_queries(client, XLSX_URL, world.axes[0], django_assert_num_queries)


def test_it_exports_generated_histories_with_their_budget(world, personas, login):
    make_actions(2, world.axes[0])
    rows = _csv_rows(login(personas["police"]).get(CSV_URL))
    generated = [row for row in rows if row[2].startswith("Action générée")]
    assert [row[10] for row in generated] == ["3001,00", "3001,00"]
    assert generated[0][4] == "Contributeur A, Contributeur B"
    assert generated[0][5] == "Reportée"


# --- Opened in a real spreadsheet ----------------------------------------------------------


@pytest.fixture
def hostile(world):
    """A title that becomes a formula when split on its comma, a contributor list with commas,
    and a Word line break stored before such characters were refused."""
    action = world.actions["ville_led"]
    Action.objects.filter(pk=action.pk).update(
        title="x,=cmd|' /C calc'!A0", description="", territory="Centre\x0bancien"
    )
    action.contributors.add(OrganisationFactory(name="Addictions France, antenne de Manosque"))
    Action.objects.filter(pk=world.actions["police_led"].pk).update(
        title="Médiation\x0bsociale \u202egnp.exe"
    )
    return action


def test_it_quotes_every_csv_field(world, personas, login, hostile):
    text = login(personas["elu"]).get(CSV_URL).content.decode("utf-8-sig")
    for line in text.split("\r\n")[:-1]:
        assert line.startswith('"') and line.endswith('"'), line


def _libreoffice_rows(client, tmp_path, infilter: str) -> list[list]:
    from tests.spreadsheet import libreoffice_open

    path = tmp_path / "plan.csv"
    path.write_bytes(client.get(CSV_URL).content)
    sheet = libreoffice_open(path, infilter=infilter).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows()]


def test_it_opens_the_csv_in_libreoffice_with_its_default_options(
    world, personas, login, hostile, tmp_path
):
    """French LibreOffice ticks comma, semicolon and tab together: no row may split or shift,
    and no cell may come out as a formula."""
    from tests.spreadsheet import CSV_DEFAULT_IMPORT

    rows = _libreoffice_rows(login(personas["elu"]), tmp_path, CSV_DEFAULT_IMPORT)
    assert [len(row) for row in rows] == [len(HEADERS)] * 4  # nothing spilled to the right
    assert [c.value for c in rows[0]] == HEADERS
    assert not [c.coordinate for row in rows for c in row if c.data_type == "f"]
    by_code = {row[1].value: row for row in rows[1:]}
    assert by_code["3.5"][2].value == "x,'=cmd|' /C calc'!A0"
    assert by_code["3.5"][4].value.startswith("Addictions France, antenne de Manosque")
    assert by_code["3.1"][2].value == "Médiation\nsociale gnp.exe"


@pytest.mark.parametrize(
    ("separators", "label"), [("44", "comma"), ("59", "semicolon"), ("9", "tab"), ("44/9", "both")]
)
def test_it_never_yields_a_formula_whatever_separator_libreoffice_is_told(
    world, personas, login, hostile, tmp_path, separators, label
):
    rows = _libreoffice_rows(login(personas["elu"]), tmp_path, f"CSV:{separators},34,76,1,,1036")
    cells = [cell for row in rows for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if str(c.value).startswith(("=", "+", "-", "@"))]


def test_it_prints_the_xlsx_in_libreoffice_landscape_one_page_wide_in_a_sans_serif(
    world, personas, login, tmp_path
):
    """22 actions printed on 6 portrait pages of 1-2 columns each, headers in a serif font."""
    from tests.spreadsheet import libreoffice_print

    make_actions(22, world.axes[0], updates=0)
    path = tmp_path / "plan.xlsx"
    path.write_bytes(login(personas["elu"]).get(XLSX_URL).content)
    printed = libreoffice_print(path)
    assert printed.sizes, "no page printed"
    assert len(printed.sizes) <= 2
    assert all(width > height for width, height in printed.sizes)  # landscape
    assert printed.fonts and not [font for font in printed.fonts if "Serif" in font]


def test_it_exports_rows_written_before_control_characters_were_refused(
    world, personas, login, hostile
):
    response = login(personas["elu"]).get(XLSX_URL)
    assert response.status_code == 200
    titles = {row[1]: row[2] for row in _workbook(response).active.iter_rows(values_only=True)}
    assert titles["3.1"] == "Médiation\nsociale gnp.exe"


def test_it_writes_implausible_years_in_full(world, personas, login):
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(
        start_date=datetime.date(1, 1, 1)
    )
    rows = _csv_rows(login(personas["elu"]).get(CSV_URL))
    assert rows[3][7] == "01/01/0001"
