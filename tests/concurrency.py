"""Helpers of the tests that race two real transactions: the first holds its locks while the
second runs in a thread; did the second come to wait for the first's lock (read from
pg_stat_activity on a connection of its own), and how did it end once the first committed?"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine

TIMEOUT_S = 10
FINISH_S = 30
POLL_S = 0.02


@dataclass(frozen=True)
class RaceOutcome:
    """How the second transaction of a race went."""

    waited: bool  # it came to wait for a lock of the first
    error: BaseException | None  # what it raised, None if it went through


def race_for_a_lock(
    database: Engine | str | psycopg.Connection,
    pid: int,
    second: Callable[[], object],
    release: Callable[[], object],
) -> RaceOutcome:
    """While a first transaction holds its locks, run ``second`` (the work of the backend
    ``pid``, its commit included) in a thread; once it waits for a lock, or has ended without
    waiting, ``release`` the first (commit it); then wait for ``second`` to end. Whether it
    waited is asked on ``database`` (see waits_for_a_lock)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            second()
        except BaseException as error:  # reported to the test, which asserts on it
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        waited = waits_for_a_lock(database, pid, running=thread)
    finally:
        release()  # also when asking failed: the second must not wait forever
        thread.join(FINISH_S)
    assert not thread.is_alive(), "the second transaction never ended"
    return RaceOutcome(waited, raised[0] if raised else None)


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
