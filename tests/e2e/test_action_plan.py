"""The issue's "done when", in a browser: a partner updates an action, the coordinator sees it,
a partner of another organisation and a plenary member cannot change it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from actions.models import Action


def _action_31() -> Action:
    return Action.objects.select_related("axis").get(axis__number=3, number="1")


def test_it_lets_the_police_update_its_action_and_the_coordinator_see_it(demo, page: Page, log_in):
    log_in("police")
    page.goto("/plan/actions/")
    page.get_by_label("Recherche").fill("3.1")
    row_link = page.get_by_role(
        "link", name=re.compile(r"Approche globale de l.insécurité routière")
    )
    expect(row_link).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Prévention du harcèlement"))).to_have_count(0)
    row_link.click()

    page.get_by_label("Statut").select_option(label="En cours")
    page.get_by_role("spinbutton", name=re.compile("Avancement")).fill("40")
    page.get_by_label("Commentaire").fill("Contrôles conjoints renforcés près des écoles.")
    page.get_by_role("button", name="Enregistrer la mise à jour").click()
    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    expect(page.locator("#status-panel")).to_contain_text("40")
    assert _action_31().progress == 40

    log_in("coordination")
    action = _action_31()
    page.goto(f"/plan/actions/{action.pk}/")
    history = page.locator("#status-panel")
    expect(history).to_contain_text("Contrôles conjoints renforcés près des écoles.")
    expect(history).to_contain_text("Police nationale")
    page.goto(f"/plan/axes/{action.axis_id}/")
    expect(page.get_by_role("row", name=re.compile("Approche globale"))).to_contain_text("40")


def test_it_never_shows_the_form_to_whom_cannot_change_the_action(demo, page: Page, log_in):
    action = _action_31()
    for username in ("education", "plenier"):
        log_in(username)
        page.goto(f"/plan/actions/{action.pk}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Approche globale")
        expect(page.get_by_role("button", name="Enregistrer la mise à jour")).to_have_count(0)
        expect(page.get_by_label("Commentaire")).to_have_count(0)


def test_it_loads_the_previous_updates_on_the_sheet_on_request(demo, page: Page, log_in):
    import datetime

    from django.utils import timezone

    from actions.models import StatusUpdate
    from clspdr.models import User

    action = _action_31()
    police = User.objects.get(username="police")
    start = timezone.now() - datetime.timedelta(days=400)
    for day in range(45):
        StatusUpdate.objects.create(
            action=action,
            author=police,
            author_organisation_id=police.organisation_id,
            created_at=start + datetime.timedelta(days=day),
            previous_status="in_progress",
            previous_progress=10,
            status="in_progress",
            progress=20,
            comment=f"Point d'étape {day:02d}",
        )
    log_in("plenier")
    page.goto(f"/plan/actions/{action.pk}/")
    entries = page.locator("#history-list > li")
    shown = entries.count()
    assert shown == 20
    more = page.get_by_role("link", name="Voir les mises à jour précédentes")
    more.click()
    expect(entries).to_have_count(40)
    # The first entry added takes the focus; the page has not changed (htmx appended them).
    expect(entries.nth(20)).to_be_focused()
    assert page.url.endswith(f"/plan/actions/{action.pk}/")
    more.click()
    total = StatusUpdate.objects.filter(action=action).count()
    expect(entries).to_have_count(
        total + action.carrier_changes.count() + action.sheet_changes.count()
    )
    expect(more).to_have_count(0)
