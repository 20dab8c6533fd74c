"""After saving, the page agrees with itself (issue 10 point 4): the summary under the title
follows a status update without a reload, the confirmation shows where the person is, and
"Effacer les filtres" follows live filtering."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from actions.models import Action

SAVE = "Enregistrer la mise à jour"


def _sheet_of_31(page: Page) -> None:
    action = Action.objects.get(axis__number=3, number="1")
    page.goto(f"/plan/actions/{action.pk}/")
    # A mark that a full page load would wipe: everything below happens in this page.
    page.evaluate("window.sameDocument = true")


def _same_document(page: Page) -> bool:
    return page.evaluate("window.sameDocument === true")


def test_it_updates_the_summary_under_the_title_without_a_reload(demo, page: Page, log_in):
    log_in("police")
    _sheet_of_31(page)
    summary = page.locator("#action-summary")
    expect(summary).not_to_contain_text("40\u00a0%")

    page.get_by_label(re.compile(r"^Statut\b")).select_option(label="En cours")
    page.get_by_role("spinbutton", name=re.compile("Avancement")).fill("40")
    page.get_by_label("Commentaire").fill("Contrôles conjoints renforcés.")
    page.get_by_role("button", name=SAVE).click()

    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    expect(summary).to_contain_text("En cours")
    expect(summary).to_contain_text("40\u00a0%")
    expect(page.locator("#action-summary")).to_have_count(1)
    assert _same_document(page)


def test_it_shows_the_confirmation_next_to_the_form(demo, page: Page, log_in):
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in("police")
    _sheet_of_31(page)
    page.get_by_role("spinbutton", name=re.compile("Avancement")).fill("20")
    page.get_by_role("button", name=SAVE).click()

    confirmation = page.locator("#status-confirmation")
    expect(confirmation).to_contain_text("Avancement de l'action 3.1 mis à jour.")
    expect(confirmation).to_have_attribute("role", "status")
    expect(confirmation).to_be_focused()
    expect(confirmation).to_be_in_viewport()
    # just above the form the person used, not in the page's messages at the top
    form = page.locator("form.status-form")
    confirmation_box, form_box = confirmation.bounding_box(), form.bounding_box()
    assert confirmation_box is not None and form_box is not None
    gap = form_box["y"] - (confirmation_box["y"] + confirmation_box["height"])
    assert 0 <= gap < 80, gap
    expect(page.locator("#messages")).not_to_contain_text("mis à jour")
    assert page.evaluate("window.scrollY") > 0  # the sheet is long: the top is out of view
    assert _same_document(page)


def test_it_offers_to_clear_the_filters_once_live_filtering_set_one(demo, page: Page, log_in):
    log_in("coordination")
    page.goto("/plan/actions/")
    page.evaluate("window.sameDocument = true")
    clear = page.get_by_role("link", name="Effacer les filtres")
    expect(clear).to_have_count(0)

    page.get_by_label("Recherche").fill("sécurité")  # live: no button pressed

    expect(page.locator("#result-count")).to_contain_text("correspond")
    expect(clear).to_be_visible()
    assert _same_document(page)

    page.get_by_label("Recherche").fill("")

    expect(clear).to_have_count(0)
    assert _same_document(page)

    page.get_by_label("Recherche").fill("école")
    expect(clear).to_be_visible()
    clear.click()
    page.wait_for_url(re.compile(r"/plan/actions/$"))
    expect(page.get_by_label("Recherche")).to_have_value("")
    expect(clear).to_have_count(0)
