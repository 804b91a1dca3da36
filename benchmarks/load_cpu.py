"""Where the CPU goes during a load run: the server, its database, Locust and the rest.

On a machine shared with other work, requests a second say as much about the neighbours as
about the server. The CPU time the server and PostgreSQL spend per request depends little on
them, and the share of the machine the rest took says how noisy a run was: the runner reports
both beside Locust's figures.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

SAMPLE_EVERY_S = 1.0


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent over ``seconds`` of wall time, by whom."""

    seconds: float
    server_s: float
    database_s: float
    locust_s: float
    others_s: float

    def report(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request, and the share of the machine each took."""
        cores = psutil.cpu_count() or 1
        per_request = {
            f"{name}_ms_per_request": round(spent * 1000 / max(requests, 1), 2)
            for name, spent in (
                ("server", self.server_s),
                ("database", self.database_s),
                ("locust", self.locust_s),
            )
        }
        busy = self.server_s + self.database_s + self.locust_s + self.others_s
        return {
            **per_request,
            "others_percent_of_machine": round(100 * self.others_s / (self.seconds * cores), 1),
            "idle_percent_of_machine": round(100 - 100 * busy / (self.seconds * cores), 1),
        }


def _tree_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its children (0 once it has ended)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    return sum(_seconds(process) for process in processes)


def _seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _database_seconds(database: str) -> float:
    """PostgreSQL's backends serving ``database`` (their title names it: "postgres: user db")."""
    title = f" {database} "
    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        if title in " ".join(process.info["cmdline"] or []) + " ":
            total += _seconds(process)
    return total


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class CpuSampler:
    """Samples, every second in a thread, the CPU seconds used so far by each party."""

    def __init__(self, server_pid: int, database: str, locust_pid: int) -> None:
        self.server_pid, self.database, self.locust_pid = server_pid, database, locust_pid
        self.samples: list[tuple[float, float, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.samples.append(
            (
                time.monotonic(),
                _tree_seconds(self.server_pid),
                _database_seconds(self.database),
                _tree_seconds(self.locust_pid),
                _machine_busy_seconds(),
            )
        )

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def last(self, seconds: float) -> CpuUse:
        """The use over the last ``seconds`` sampled while Locust ran (it measures the end of
        its run; a sample taken once it has ended no longer sees its CPU time)."""
        alive = [sample for sample in self.samples if sample[3] > 0]
        end = alive[-1]
        start = next(sample for sample in alive if sample[0] >= end[0] - seconds)
        server, database, locust, busy = (e - s for e, s in zip(end[1:], start[1:], strict=True))
        return CpuUse(
            seconds=end[0] - start[0],
            server_s=server,
            database_s=database,
            locust_s=locust,
            others_s=max(0.0, busy - server - database - locust),
        )
