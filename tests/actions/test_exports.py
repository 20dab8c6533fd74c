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

from actions.exports import COLUMNS, csv_cell
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
    assert response.content.decode("utf-8-sig").startswith("Axe;N°;Intitulé;Pilote;")
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
    name = f"plan-action-manosque-{today}.csv"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    response = login(personas["elu"]).get(XLSX_URL)
    assert f'filename="plan-action-manosque-{today}.xlsx"' in response["Content-Disposition"]


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
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width == 60
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[1].value for row in rows] == ["1.1", "3.1", "3.5"]
    row = rows[2]
    assert row[6].value == 40  # a number, not text
    assert row[7].value == datetime.datetime(2024, 3, 1)
    assert row[7].number_format == "DD/MM/YYYY"
    assert row[9].value == datetime.datetime(2026, 11, 25)
    assert row[10].value == pytest.approx(2000.5)
    assert rows[0][7].value is None


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
