"""The benchmark database: recreate it, load the demo, grow a synthetic strategy, count queries.

Everything but `recreate_database` needs Django set up with `bench.settings` (see run.py).
The synthetic actions live in a strategy of their own (`banc-d-essai`, 2001–2002, never the
current one): the demo pages keep showing Manosque as people see it, while the query counts
read a strategy holding exactly 1, 50 then 500 actions.
"""

from __future__ import annotations

import datetime
import io
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, urlsplit, urlunsplit

import psycopg
from django.utils import timezone
from psycopg import sql

from bench.scenarios import UPDATES_PER_ACTION, QueryPage

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.test import Client

    from actions.models import Action
    from axes.models import Axis, Strategy
    from clspdr.models import User

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clspdr_bench"
SCALE_SLUG = "banc-d-essai"
PERIOD_END = datetime.datetime(2002, 12, 31, 12, tzinfo=datetime.UTC)  # of the synthetic strategy
CLIENT_HOST = "127.0.0.1"  # the only allowed host of the benchmark settings
_WORD = re.compile(r"\w{6,}")


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    """The same server, database `postgres`: one cannot drop the database one is connected to."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def recreate_database(url: str) -> str:
    """Drop and create the benchmark database; returns the server's version."""
    name = database_name(url)
    if "bench" not in name:
        # This drops the database: never one whose name does not say it is disposable.
        raise SystemExit(
            f"Refusing to drop {name!r}: the benchmark database name must contain 'bench'."
        )
    with psycopg.connect(maintenance_url(url), autocommit=True, connect_timeout=5) as connection:
        identifier = sql.Identifier(name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
        version = connection.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


def prepare() -> None:
    """What a deployment runs, then the demo: migrate, collectstatic, strategy, accounts."""
    from django.core.management import call_command

    quiet = {"verbosity": 0, "stdout": io.StringIO()}  # stdout is the report's
    call_command("migrate", interactive=False, **quiet)
    call_command("collectstatic", interactive=False, **quiet)
    call_command("load_strategy", **quiet)
    # --force: DEBUG is off, as in production; these demo accounts live in a throwaway database.
    call_command("seed_demo", force=True, **quiet)


def analyze() -> None:
    """Planner statistics, as autovacuum would have gathered them on a running site: a
    freshly filled database otherwise plans with default estimates."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


@dataclass(frozen=True)
class DemoTargets:
    sheet_pk: int  # the demo action with the longest history
    search: str  # a word found in several in-progress actions, already URL-encoded


def demo_targets() -> DemoTargets:
    from django.db.models import Count

    from actions.models import Action, Status
    from axes.selectors import current_strategy

    strategy = current_strategy()
    actions = Action.objects.filter(axis__strategy=strategy)
    sheet = actions.annotate(n=Count("updates")).order_by("-n", "pk").first()
    if sheet is None:
        raise SystemExit("The demo has no action: did seed_demo run?")
    return DemoTargets(
        sheet_pk=sheet.pk,
        search=quote_plus(_common_word(actions.filter(status=Status.IN_PROGRESS))),
    )


def _common_word(actions: QuerySet[Action]) -> str:
    """The word (6 letters or more) found in most of these actions' titles and descriptions:
    searching it keeps the filtered list from being empty, whatever the strategy file says."""
    words: Counter[str] = Counter()
    for title, description in actions.values_list("title", "description"):
        words.update({w.lower() for w in _WORD.findall(f"{title} {description}")})
    if not words:
        return "action"
    return max(words.items(), key=lambda item: (item[1], item[0]))[0]


class ScaleData:
    """A synthetic strategy grown step by step; its actions are carried by the police
    persona's organisation so that "my actions" grows with them."""

    def __init__(self) -> None:
        from axes.models import Axis, Strategy
        from clspdr.models import User

        self.author: User = User.objects.get(username="coordination")
        self.police: User = User.objects.select_related("organisation").get(username="police")
        self.strategy: Strategy = Strategy.objects.create(
            slug=SCALE_SLUG,
            title="Stratégie synthétique du banc d'essai",
            town="Banc d'essai",
            start_year=2001,
            end_year=2002,
        )
        self.axis: Axis = Axis.objects.create(
            strategy=self.strategy, number=1, title="Actions générées"
        )
        self.first_pk: int | None = None

    @property
    def count(self) -> int:
        return self.axis.actions.count()

    def grow_to(self, total: int) -> None:
        from django.db import transaction

        from tests.queries import make_actions

        missing = total - self.count
        if missing <= 0:
            return
        with transaction.atomic():
            created = make_actions(
                missing,
                self.axis,
                lead=self.police.organisation,
                author=self.author,
                updates=UPDATES_PER_ACTION,
            )
            self._date_in_period()
        if self.first_pk is None:
            self.first_pk = created[0].pk

    def _date_in_period(self) -> None:
        """Move the new history (dated the last few days) into the strategy's own period.

        Left today, 2,500 updates newer than all of Manosque's would sit in front of them in
        every "latest updates" read of the demo pages, which no real past strategy does.
        """
        from django.db.models import F

        from actions.models import Action, StatusUpdate

        shift = timezone.now() - PERIOD_END
        StatusUpdate.objects.filter(action__axis=self.axis, created_at__gt=PERIOD_END).update(
            created_at=F("created_at") - shift
        )
        Action.objects.filter(axis=self.axis, last_update_at__gt=PERIOD_END).update(
            last_update_at=F("last_update_at") - shift
        )

    def placeholders(self) -> dict[str, object]:
        return {"scale_slug": self.strategy.slug, "scale_sheet_pk": self.first_pk}


def logged_in_client(user: User) -> Client:
    """A test Client with a real session of `user` in the database."""
    from django.test import Client

    client = Client(HTTP_HOST=CLIENT_HOST)
    client.force_login(user)
    return client


def session_keys(username: str, count: int) -> list[str]:
    """`count` distinct sessions of `username`: one per load client, like distinct browsers
    (a shared session would make its row a lock every request queues on)."""
    from django.conf import settings

    from clspdr.models import User

    user = User.objects.get(username=username)
    keys = []
    for _ in range(count):
        client = logged_in_client(user)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return keys


def count_page_queries(
    pages: Sequence[QueryPage], placeholders: dict[str, object]
) -> dict[str, int]:
    """Queries of one GET per page, after a first GET that warms the session (as a user's
    second page would)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clspdr.models import User

    clients: dict[str, Client] = {}
    counts = {}
    for page in pages:
        if page.persona not in clients:
            clients[page.persona] = logged_in_client(User.objects.get(username=page.persona))
        client = clients[page.persona]
        path = page.path.format(**placeholders)
        client.get(path, headers=page.headers)
        with CaptureQueriesContext(connection) as context:
            response = client.get(path, headers=page.headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} as {page.persona} answered {response.status_code}")
        counts[page.name] = len(context.captured_queries)
    return counts
