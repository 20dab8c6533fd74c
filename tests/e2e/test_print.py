"""Paper: the printed sheet carries the town, the council and the date, without the screen's
controls, and its grand total once; the printed list fits its page. Chromium prints the PDF,
poppler's `pdftotext` and `pdfinfo` read it back."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from actions.models import Funding
from clspdr.templatetags.clspdr import frdate
from tests.e2e import a11y


def _path(name: str) -> str:
    return a11y.path_of(a11y.SweepPage(name, name))


def _print(page: Page, tmp_path: Path) -> tuple[str, list[tuple[float, float]]]:
    """The page printed by Chromium: its text as `pdftotext -layout` reads it back, and the
    size of each sheet in points (`pdfinfo`; both from poppler-utils)."""
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.fail("pdftotext not found: run `bin/system-deps` (apt-get install poppler-utils).")
    pdf = tmp_path / "page.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    sizes = [
        (float(width), float(height))
        for width, height in re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+)", info)
    ]
    return text, sizes


def test_it_prints_the_sheet_with_the_town_the_council_and_the_date(
    demo, page: Page, log_in, tmp_path: Path
):
    from django.utils import timezone

    action = a11y.swept_action()
    # Enough years for the funding table to run over two printed pages.
    Funding.objects.bulk_create(
        Funding(action=action, year=year, funder=f"Financeur n° {n}", amount=Decimal(1000))
        for year in range(2000, 2020)
        for n in range(1, 4)
    )
    log_in(a11y.UPDATER)
    page.goto(_path("actions:detail"))
    text, _ = _print(page, tmp_path)

    assert settings.TOWN_NAME in text
    assert settings.SITE_NAME in text
    assert f"Imprimé le {frdate(timezone.localdate())}" in text
    for screen_only in (
        "Mettre à jour l'avancement",
        "Enregistrer la mise à jour",
        "Se déconnecter",
    ):
        assert screen_only not in text
    assert text.count("Total sur la période") == 1
    assert text.index("Total sur la période") > text.index("Total 2026")


def test_it_prints_the_list_within_the_page_width(demo, page: Page, log_in, tmp_path: Path):
    log_in("coordination")
    page.goto(_path("actions:list"))
    text, sizes = _print(page, tmp_path)
    assert sizes and all(width > height for width, height in sizes), "not landscape"
    assert "Filtrer" not in text
    for header in ("Intitulé", "Statut", "Avancement", "Dernière"):  # the last header wraps
        assert header in text

    # A4 landscape less the margins (static/css/clspdr.css @page), in CSS pixels.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": round((29.7 - 2 * 1.2) / 2.54 * 96), "height": 700})
    wide = page.evaluate(
        "() => [...document.body.querySelectorAll('*')]"
        ".filter((el) => el.getBoundingClientRect().right > innerWidth + 1)"
        ".map((el) => el.tagName.toLowerCase() + '.' + String(el.className))"
    )
    assert wide == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.evaluate(
        "() => innerWidth"
    )
