"""The benchmark database: recreate it, load the demo, grow a synthetic strategy, count queries
and session writes.

Everything but `recreate_database` needs Django set up with `bench.settings` (see run.py).
The synthetic actions live in a strategy of their own (`banc-d-essai`, 2001–2002, never the
current one), grown inside a transaction that run.py rolls back: the query counts read a
strategy holding exactly 1, 50 then 500 actions, and the demo stays as people see it. The
département-sized dataset is bench/large.py's.
"""

from __future__ import annotations

import datetime
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote_plus, urlsplit, urlunsplit

import psycopg
from django.utils import timezone
from psycopg import sql

from bench.scenarios import TRIVIAL_PATH, UPDATES_PER_ACTION, QueryPage, Scenario

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
T = TypeVar("T")


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


# --- Session writes, counted in the database -----------------------------------------------

SESSION_WRITES = "bench_session_writes"


def count_session_writes() -> None:
    """Count every INSERT and UPDATE of a session row, whichever process writes it.

    A sequence bumped by a row trigger: sequences are outside transactions and take no row
    lock, so the count costs the request next to nothing and serialises nothing. (The
    statistics views, pg_stat_user_tables, reach other sessions' counts only seconds later.)
    """
    from django.contrib.sessions.models import Session
    from django.db import connection

    table = Session._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SESSION_WRITES}")
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {SESSION_WRITES}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN PERFORM nextval('{SESSION_WRITES}'); RETURN NULL; END $$"
        )
        cursor.execute(
            f"CREATE OR REPLACE TRIGGER {SESSION_WRITES} AFTER INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {SESSION_WRITES}()"
        )


class SessionWrites:
    """Reads the session write count on a connection of its own (autocommit)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = psycopg.connect(
            urlunsplit(parts._replace(scheme="postgresql")), autocommit=True
        )

    def total(self) -> int:
        row = self.connection.execute(
            sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(SESSION_WRITES))
        ).fetchone()
        return int(row[0]) if row and row[1] else 0

    def close(self) -> None:
        self.connection.close()


# --- Counts taken in-process --------------------------------------------------------------


class _Rollback(Exception):
    """Raised to leave a transaction.atomic() block without keeping its writes."""


def rolled_back(work: Callable[[], T]) -> T:
    """Run `work` in a transaction and roll it back: measures that must leave nothing."""
    from django.db import transaction

    result: list[T] = []
    try:
        with transaction.atomic():
            result.append(work())
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


def post_versions(count: int, sheet_pk: int) -> dict[int, int]:
    """`count` demo actions for the status update POST, with their versions: not the long
    sheet (its page is measured), each history growing by a few rows per run only."""
    from actions.models import Action
    from axes.selectors import current_strategy

    actions = Action.objects.filter(axis__strategy=current_strategy()).exclude(pk=sheet_pk)
    return dict(actions.order_by("pk").values_list("pk", "version")[:count])


PostState = dict[int, tuple[str, int, "datetime.datetime | None"]]


def post_state(pool: Sequence[int]) -> PostState:
    """Status, progress and last update of the POST's actions, to put back by forget_posts."""
    from actions.models import Action

    rows = Action.objects.filter(pk__in=pool).values_list(
        "pk", "status", "progress", "last_update_at"
    )
    return {pk: (status, progress, last) for pk, status, progress, last in rows}


def forget_posts(pool: Sequence[int], since: datetime.datetime, state: PostState) -> int:
    """Remove the status updates the POST scenario wrote since `since` and put back the
    actions' status, progress and last update (not their version, which only goes up): the
    next dataset starts from the same histories, and the demo's stale actions are stale
    again for the weekly reminder."""
    from actions.models import Action, StatusUpdate

    deleted, _ = StatusUpdate.objects.filter(action__in=pool, created_at__gte=since).delete()
    for pk, (status, progress, last_update_at) in state.items():
        Action.objects.filter(pk=pk).update(
            status=status, progress=progress, last_update_at=last_update_at
        )
    return deleted


def count_request_queries(
    scenarios: Sequence[Scenario], placeholders: dict[str, object], post_pk: int
) -> dict[str, int]:
    """Queries of one request of each application scenario (the floor has none), after a
    first request that warms the session. The POST is a real status update (committed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from actions.models import Action
    from clspdr.models import User

    clients: dict[str, Client] = {}
    counts = {}
    for scenario in scenarios:
        if scenario.server != "app":
            continue
        if scenario.persona not in clients:
            user = User.objects.get(username=scenario.persona)
            clients[scenario.persona] = logged_in_client(user)
        client = clients[scenario.persona]
        client.get(TRIVIAL_PATH)
        with CaptureQueriesContext(connection) as context:
            if scenario.method == "POST":
                version = Action.objects.values_list("version", flat=True).get(pk=post_pk)
                form = {"status": "in_progress", "progress": 10 + 10 * (version % 2)}
                response = client.post(
                    scenario.path.format(pk=post_pk),
                    {**form, "comment": "", "version": version},
                    headers=scenario.headers or {"HX-Request": "true"},
                )
            else:
                path = scenario.path.format(**placeholders)
                response = client.get(path, headers=scenario.headers)
        if response.status_code != 200:
            raise RuntimeError(f"{scenario.name} as {scenario.persona}: {response.status_code}")
        counts[scenario.name] = len(context.captured_queries)
    return counts


@dataclass(frozen=True)
class ReminderCount:
    strategies: int
    queries: int
    organisations: int  # organisations the weekly run would remind (claimed or no contact)


def count_reminder_queries() -> ReminderCount:
    """Queries of the weekly reminder's claim (`reminders_claim_due`, what beat runs), rolled
    back so that nothing is claimed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from actions.reminders import reminders_claim_due
    from axes.models import Strategy

    def claim() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as context:
            report, claims = reminders_claim_due(today=timezone.localdate())
        return len(context.captured_queries), len(claims) + report.without_contact

    queries, organisations = rolled_back(claim)
    return ReminderCount(Strategy.objects.count(), queries, organisations)
