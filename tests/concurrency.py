"""Helpers of the tests that race two real transactions: did one come to wait for the other's
lock? Read from pg_stat_activity on a connection of its own."""

from __future__ import annotations

import threading
import time

import psycopg
from sqlalchemy import Engine

TIMEOUT_S = 10
POLL_S = 0.02


def libpq_url(database: Engine | str) -> str:
    """The URL psycopg connects to, from an engine or a SQLAlchemy URL."""
    url = database if isinstance(database, str) else database.url.render_as_string(False)
    return url.replace("postgresql+psycopg", "postgresql")


def waits_for_a_lock(
    database: Engine | str | psycopg.Connection,
    pid: int,
    *,
    running: threading.Thread | None = None,
    timeout_s: float = TIMEOUT_S,
) -> bool:
    """Whether the backend ``pid`` comes to wait for a lock within ``timeout_s``, asked on an
    observer connection (``database`` itself if it is one, in autocommit); with ``running``,
    the thread doing that backend's work, stop asking once it has ended (it finished without
    waiting)."""
    if isinstance(database, psycopg.Connection):
        return _comes_to_wait(database, pid, running, timeout_s)
    with psycopg.connect(libpq_url(database), autocommit=True) as observer:
        return _comes_to_wait(observer, pid, running, timeout_s)


def _comes_to_wait(
    observer: psycopg.Connection, pid: int, running: threading.Thread | None, timeout_s: float
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (running is None or running.is_alive()):
        row = observer.execute(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row and row[0]:
            return True
        time.sleep(POLL_S)
    return False
