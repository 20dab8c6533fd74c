"""A TCP server that accepts every connection and never answers: a hung database or Redis.

The kernel completes the handshake, so clients believe they are connected, then wait for a
reply that never comes, as with a frozen PostgreSQL or a proxy in front of a dead one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class SilentServer:
    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = threading.Event()  # set once a client is connected (and waiting)
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self._thread.start()

    @property
    def postgresql_url(self) -> str:
        return f"postgres://nobody:nothing@127.0.0.1:{self.port}/nothing"

    @property
    def libpq_params(self) -> dict[str, object]:
        return {"host": "127.0.0.1", "port": self.port, "dbname": "nothing", "user": "nobody"}

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                conn, _address = self._listener.accept()
            except OSError:
                return  # closed
            self._connections.append(conn)
            self.accepted.set()

    def hang_up(self) -> None:
        """Close every accepted connection: the clients waiting on them get an error now."""
        for conn in list(self._connections):
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self.hang_up()
        self._thread.join(timeout=5)

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
