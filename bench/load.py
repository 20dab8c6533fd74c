"""Load generators (stdlib only) and latency statistics.

Two loops, each client a thread with its own connection and cookies (bench/README.md):

- open loop (`open_loop`): requests at fixed intervals, a steady rate. Latency is measured from
  the time a request was *scheduled*, not from when it could be sent: when a response is slow,
  the requests queued behind it count their wait (no coordinated omission). Requests still
  unsent at the deadline count as late, with the time they had waited so far.
- closed loop (`closed_loop`): back to back, a new request as soon as the last one answered.
  The CPUs never idle between requests, so no request pays the wake-up of an idle machine.

What a request is (`Get`, `StatusPost`) is a target object: `target.send(client)`.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Protocol
from urllib.parse import urlencode

HOST = "127.0.0.1"  # the only address this generator talks to


@dataclass
class Samples:
    """Latencies in seconds of one scenario, merged over rounds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # non-200 answers and network errors (their latency is kept)
    late: int = 0  # still unsent at the deadline
    sizes: list[int] = field(default_factory=list)  # bytes of each answer's body

    def extend(self, other: Samples) -> None:
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.late += other.late
        self.sizes.extend(other.sizes)


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    errors: int
    late: int
    size: int = 0  # median bytes of a body


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(samples: Samples) -> Summary:
    return Summary(
        count=len(samples.latencies),
        p50=percentile(samples.latencies, 50),
        p95=percentile(samples.latencies, 95),
        errors=samples.errors,
        late=samples.late,
        size=round(percentile(samples.sizes, 50)) if samples.sizes else 0,
    )


def schedule(start: float, phase: float, interval: float, count: int) -> list[float]:
    """Send times of one client: `count` requests every `interval` seconds after `phase`."""
    return [start + phase + index * interval for index in range(count)]


def phases(clients: int, interval: float, seed: int) -> list[float]:
    """Where each client starts within its interval: seeded, so every scenario of a run gets
    the same arrival pattern and their ratios compare like with like."""
    rng = random.Random(seed)
    return [0.0] + [rng.uniform(0, interval) for _ in range(clients - 1)]


class Client:
    """One browser-like client: a connection, its cookies, its extra headers."""

    def __init__(
        self, port: int, cookies: Mapping[str, str], timeout: float, index: int = 0
    ) -> None:
        self.port = port
        self.cookies = dict(cookies)
        self.timeout = timeout
        self.index = index  # its rank among the clients of one level (StatusPost's actions)
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        return self.request("GET", path, headers)

    def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        """Send one request; keeps the cookies the server sets, as a browser does (CSRF)."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        all_headers = {"Host": HOST, **({"Cookie": cookie} if cookie else {}), **headers}
        try:
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            # gunicorn's sync workers close every connection: reopen and let the caller count.
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()
        return response.status, body

    def close(self) -> None:
        self.connection.close()


class Target(Protocol):
    """One kind of request a scenario sends."""

    def send(self, client: Client) -> tuple[int, bytes]: ...


@dataclass(frozen=True)
class Get:
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def send(self, client: Client) -> tuple[int, bytes]:
        return client.get(self.path, self.headers)


_VERSION = re.compile(rb'name="version" value="(\d+)"')


class StatusPost:
    """A status update as the sheet's htmx form sends it: POST status, progress and the
    version read, with the CSRF token of the client's cookie.

    Each client of a level updates its own share of `actions` in turn (client i the actions
    i, i + n, ...: two clients never race for one action), so that no single history grows
    long over a run. Progress alternates between two values: every POST is a real change.
    The version of each action comes from the answer (the panel's form), or a 409's.
    """

    def __init__(
        self, path: str, versions: Mapping[int, int], csrf_cookie: str, clients: int
    ) -> None:
        self.path = path  # with {pk}
        self.versions = dict(versions)  # action pk -> version, read from the database
        self.csrf_cookie = csrf_cookie
        self.clients = clients
        self._turn: dict[int, int] = {}

    def _next_action(self, client: Client) -> int:
        mine = list(self.versions)[client.index :: self.clients]
        turn = self._turn.get(client.index, 0)
        self._turn[client.index] = turn + 1
        return mine[turn % len(mine)]

    def send(self, client: Client) -> tuple[int, bytes]:
        pk = self._next_action(client)
        version = self.versions[pk]
        form = {"status": "in_progress", "progress": 10 + 10 * (version % 2), "comment": ""}
        headers = {
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRFToken": client.cookies.get(self.csrf_cookie, ""),
        }
        body = urlencode({**form, "version": version}).encode()
        status, answer = client.request("POST", self.path.format(pk=pk), headers, body)
        if match := _VERSION.search(answer):
            self.versions[pk] = int(match.group(1))
        return status, answer


def _send(client: Client, target: Target, out: Samples, started: float) -> None:
    try:
        status, body = target.send(client)
    except (OSError, http.client.HTTPException):
        status, body = 0, b""
    out.latencies.append(time.perf_counter() - started)
    out.sizes.append(len(body))
    if status != 200:
        out.errors += 1


def _client_loop(
    client: Client,
    target: Target,
    send_times: Sequence[float],
    deadline: float,
    out: Samples,
) -> None:
    for index, scheduled in enumerate(send_times):
        now = time.perf_counter()
        if now > deadline:
            # Lower bounds: they had waited this long and were never answered in time.
            out.latencies.extend(deadline - s for s in send_times[index:])
            out.late += len(send_times) - index
            return
        if scheduled > now:
            time.sleep(scheduled - now)
        _send(client, target, out, scheduled)


def open_loop(
    clients: Sequence[Client],
    target: Target,
    *,
    rate: float,
    seconds: float,
    grace: float,
    seed: int,
) -> Samples:
    """`rate` requests per second in all, shared evenly by `clients`, for `seconds`."""
    interval = len(clients) / rate
    per_client = max(1, round(seconds / interval))
    start = time.perf_counter() + 0.05  # let every thread reach its first sleep
    deadline = start + seconds + grace
    results = [Samples() for _ in clients]
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(client, target, schedule(start, phase, interval, per_client), deadline, out),
            daemon=True,
        )
        for client, phase, out in zip(
            clients, phases(len(clients), interval, seed), results, strict=True
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A request in flight at the deadline ends within its own timeout.
        thread.join(timeout=max(0.0, deadline - time.perf_counter()) + client_timeout(clients))
    return _merge(results)


def _merge(results: Iterable[Samples]) -> Samples:
    merged = Samples()
    for out in results:
        merged.extend(out)
    return merged


def _back_to_back(
    client: Client, target: Target, count: int, start: threading.Barrier, out: Samples
) -> None:
    start.wait()
    for _ in range(count):
        _send(client, target, out, time.perf_counter())


def closed_loop(clients: Sequence[Client], target: Target, per_client: int) -> Samples:
    """Every client sends `per_client` requests back to back, all clients at once."""
    results = [Samples() for _ in clients]
    barrier = threading.Barrier(len(clients))
    threads = [
        threading.Thread(
            target=_back_to_back, args=(client, target, per_client, barrier, out), daemon=True
        )
        for client, out in zip(clients, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=per_client * client_timeout(clients))
    return _merge(results)


def client_timeout(clients: Iterable[Client]) -> float:
    return max((client.timeout for client in clients), default=0.0) + 1


def warm_up(clients: Sequence[Client], target: Target, count: int) -> str:
    """Closed-loop requests, not measured: worker caches, connections, CSRF cookies.

    `count` requests in all, at least one per client. Returns the body of the last answer;
    raises if any answer is not a 200 (an expired session would otherwise measure the login
    redirect instead of the page).
    """
    body = b""
    for index in range(max(count, len(clients))):
        status, body = target.send(clients[index % len(clients)])
        if status != 200:
            raise RuntimeError(f"{target} answered {status} during the warm-up")
    return body.decode("utf-8", errors="replace")
