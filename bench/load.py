"""Open-loop load generator (stdlib only) and latency statistics.

Each client is a thread sending requests at fixed intervals on its own connection. Latency is
measured from the time a request was *scheduled*, not from when it could be sent: when a
response is slow, the requests queued behind it count their wait (no coordinated omission).
Requests still unsent at the deadline count as late, with the time they had waited so far.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

HOST = "127.0.0.1"  # the only address this generator talks to


@dataclass
class Samples:
    """Latencies in seconds of one scenario, merged over rounds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # non-200 answers and network errors (their latency is kept)
    late: int = 0  # still unsent at the deadline

    def extend(self, other: Samples) -> None:
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.late += other.late


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    errors: int
    late: int


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

    def __init__(self, port: int, cookies: Mapping[str, str], timeout: float) -> None:
        self.port = port
        self.cookies = dict(cookies)
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """GET `path`; keeps the cookies the server sets, as a browser does (CSRF token)."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        all_headers = {"Host": HOST, "Cookie": cookie, **headers}
        try:
            self.connection.request("GET", path, headers=all_headers)
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


def _client_loop(
    client: Client,
    path: str,
    headers: Mapping[str, str],
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
        try:
            status, _ = client.get(path, headers)
        except (OSError, http.client.HTTPException):
            status = 0
        out.latencies.append(time.perf_counter() - scheduled)
        if status != 200:
            out.errors += 1


def open_loop(
    clients: Sequence[Client],
    path: str,
    headers: Mapping[str, str],
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
            args=(
                client,
                path,
                headers,
                schedule(start, phase, interval, per_client),
                deadline,
                out,
            ),
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
    merged = Samples()
    for out in results:
        merged.extend(out)
    return merged


def client_timeout(clients: Iterable[Client]) -> float:
    return max((client.timeout for client in clients), default=0.0) + 1


def warm_up(clients: Sequence[Client], path: str, headers: Mapping[str, str], count: int) -> str:
    """Closed-loop requests, not measured: worker caches, connections, CSRF cookies.

    `count` requests in all, at least one per client. Returns the body of the last answer;
    raises if any answer is not a 200 (an expired session would otherwise measure the login
    redirect instead of the page).
    """
    body = b""
    for index in range(max(count, len(clients))):
        status, body = clients[index % len(clients)].get(path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status} during the warm-up")
    return body.decode("utf-8", errors="replace")
