"""Load test of the web platform: `foncier serve` on the demo, Locust's référents at it.

    python -m benchmarks.load_run                   # ~8 min: 3 rounds of both servers
    python -m benchmarks.load_run --rounds 1 --users 50 --json /tmp/foncier-bench/load.json
    python -m benchmarks.load_run --server 4x1 --server 2x4   # compare worker models

Builds the demo database in the benchmark cluster as scripts/run does (migrate, load
Indre-et-Loire, seed the demo; each step idempotent), then, round after round, serves it with
`foncier serve` as shipped (or each --server WORKERSxTHREADS) and with the naive baseline —
the server it replaced, 2 sync workers — each on a free port, runs Locust headless on it
(benchmarks/load.py: a warm-up, then --users clients for --duration seconds once all are
signed in), stops it and reads Locust's CSV. Prints each run's figures per endpoint, then the
summary of every server over the rounds (the best round and the spread), its targets and its
ratios to the baseline, in JSON (also to --json)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.database import DEFAULT_DIR, bench_database, benchmark_parser
from benchmarks.load_cpu import CpuSampler, CpuUse
from benchmarks.run import machine
from foncier.core.pgcluster import free_port

DATABASE = "foncier_load"
ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "load.py"
# The console script of the environment running this module (.venv/bin/foncier).
FONCIER = str(Path(sys.executable).with_name("foncier"))
# Targets of issue 11 on 2 cores, the load generator included, at 20 clients.
TARGET_REQUESTS_PER_S = 200.0
TARGET_P95_MS = 200.0
BASELINE = "2x1"
SHIPPED_LABEL = "foncier serve"
BASELINE_LABEL = "baseline"
SERVER_START_TIMEOUT_S = 60
# Locust measures from the moment every client has signed in: a run stops at the latest this
# long after the measured seconds, should some sign-ins never end.
SIGN_IN_ALLOWANCE_S = 120
# Every request of the run, Locust's CSV row summing the endpoints.
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class Server:
    """A configuration of `foncier serve`: None for its defaults, as shipped."""

    label: str
    workers: int | None = None
    threads: int | None = None

    @classmethod
    def parse(cls, label: str, text: str) -> Server:
        """``WORKERSxTHREADS``, e.g. 2x1 (two sync workers) or 3x4."""
        workers, _, threads = text.partition("x")
        return cls(label, int(workers), int(threads or 1))

    def options(self) -> list[str]:
        if self.workers is None:
            return []
        return ["--workers", str(self.workers), "--threads", str(self.threads)]


@dataclass(frozen=True)
class Endpoint:
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    requests_per_s: float


def run_cli(url: str, *arguments: str) -> None:
    """A `foncier` command on the load database, as scripts/run calls it."""
    subprocess.run(
        [FONCIER, *arguments],
        check=True,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )


def prepare_demo(url: str) -> None:
    """The database scripts/run serves: schema, Indre-et-Loire, the demo (idempotent)."""
    run_cli(url, "db", "upgrade")
    run_cli(url, "territory", "load", "--departement", "37")
    run_cli(url, "seed", "demo")


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/connexion", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def serving(url: str, server: Server, log: Path) -> Iterator[tuple[str, int]]:
    """`foncier serve` with ``server``'s options on a free port; yields its base address and
    the process id of gunicorn's master."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "FONCIER_SECRET_KEY": secrets.token_hex(32),
        "FONCIER_COOKIE_SECURE": "0",  # plain http on this machine, as scripts/run
    }
    command = [FONCIER, "serve", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, *server.options()], env=environment, stdout=output, stderr=output
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _answers(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log}")
                time.sleep(0.2)
            yield base, process.pid
        finally:
            process.send_signal(signal.SIGTERM)  # gunicorn stops its workers gracefully
            process.wait(timeout=30)


def locust(
    base: str, users: int, seconds: int, csv_prefix: Path | None = None
) -> subprocess.Popen[bytes]:
    """Locust headless on ``base``, started, measuring ``seconds`` once every client has signed
    in; its CSV files start with ``csv_prefix`` when given. Its exit status says whether any
    request failed: the CSV tells which, so it is not read."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--users", str(users), "--spawn-rate", str(users), "--measured-seconds", str(seconds),
        "--run-time", f"{seconds + SIGN_IN_ALLOWANCE_S}s",
        "--host", base, "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    if csv_prefix is not None:
        command += ["--csv", str(csv_prefix)]
    # The locustfile imports benchmarks.needs: the checkout must be on the import path.
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)


def read_stats(csv_prefix: Path) -> list[Endpoint]:
    with open(f"{csv_prefix}_stats.csv", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return [
        Endpoint(
            name=row["Name"],
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            median_ms=float(row["50%"]),
            p95_ms=float(row["95%"]),
            p99_ms=float(row["99%"]),
            requests_per_s=round(float(row["Requests/s"]), 1),
        )
        for row in rows
        if int(row["Request Count"])  # the sign-in pages, requested before the figures restart
    ]


@dataclass(frozen=True)
class Run:
    endpoints: list[Endpoint]
    cpu: CpuUse


def measure(
    url: str, server: Server, *, users: int, seconds: int, warmup: int, directory: Path
) -> Run:
    """One run: serve, warm up (plans, templates, connections), measure, stop."""
    directory.mkdir(parents=True, exist_ok=True)
    with serving(url, server, directory / "server.log") as (base, server_pid):
        locust(base, users, warmup).wait()
        process = locust(base, users, seconds, directory / "locust")
        sampler = CpuSampler(server_pid, make_url(url).database or "", process.pid)
        sampler.start()
        process.wait()
        sampler.stop()
    return Run(read_stats(directory / "locust"), sampler.last(seconds))


def table(label: str, run_: Run) -> str:
    lines = [
        f"{label}",
        f"  {'endpoint':<28} {'requests':>8} {'errors':>6} {'req/s':>6} {'median':>6} "
        f"{'p95':>5} {'p99':>5}",
    ]
    for e in run_.endpoints:
        lines.append(
            f"  {e.name:<28} {e.requests:>8} {e.failures:>6} {e.requests_per_s:>6.1f} "
            f"{e.median_ms:>6.0f} {e.p95_ms:>5.0f} {e.p99_ms:>5.0f}"
        )
    cpu = run_.cpu.report(aggregated(run_.endpoints).requests)
    lines.append("  CPU: " + ", ".join(f"{name} {value}" for name, value in cpu.items()))
    return "\n".join(lines)


def aggregated(endpoints: list[Endpoint]) -> Endpoint:
    return next(e for e in endpoints if e.name == AGGREGATED)


def summarise(runs: list[Run]) -> dict[str, Any]:
    """A server's rounds: the best (most requests a second) in full, and the spread."""
    totals = [aggregated(run.endpoints) for run in runs]
    best = max(range(len(runs)), key=lambda index: totals[index].requests_per_s)
    spread = {
        field: [min(getattr(t, field) for t in totals), max(getattr(t, field) for t in totals)]
        for field in ("requests_per_s", "median_ms", "p95_ms", "failures")
    }
    return {
        "best": asdict(totals[best]),
        "spread_over_rounds": spread,
        "rounds": [
            {**asdict(total), "cpu": run.cpu.report(total.requests)}
            for total, run in zip(totals, runs, strict=True)
        ],
        "p95_ms_per_endpoint_in_best": {
            e.name: e.p95_ms for e in runs[best].endpoints if e.name != AGGREGATED
        },
    }


def compare(measured: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """A server's best round against the targets, and against the baseline's best round."""
    best = measured["best"]
    result: dict[str, Any] = {
        "targets_met": {
            "requests_per_s_ge_200": best["requests_per_s"] >= TARGET_REQUESTS_PER_S,
            "p95_le_200ms": best["p95_ms"] <= TARGET_P95_MS,
            "no_errors": max(measured["spread_over_rounds"]["failures"]) == 0,
        }
    }
    if baseline is not None:
        result["throughput_vs_baseline"] = round(
            best["requests_per_s"] / baseline["best"]["requests_per_s"], 2
        )
        result["p95_baseline_over_this"] = round(baseline["best"]["p95_ms"] / best["p95_ms"], 2)
    return result


def run(
    url: str, servers: Sequence[Server], *, rounds: int, users: int, seconds: int,
    warmup: int, directory: Path,
) -> dict[str, Any]:  # fmt: skip
    """Measure every server ``rounds`` times, taking turns so that a noisy minute on a shared
    machine hurts one run rather than one server."""
    prepare_demo(url)
    runs: dict[str, list[Run]] = {server.label: [] for server in servers}
    for round_ in range(1, rounds + 1):
        for server in servers:
            run_ = measure(
                url, server, users=users, seconds=seconds, warmup=warmup,
                directory=directory / f"{server.label}-{round_}",
            )  # fmt: skip
            runs[server.label].append(run_)
            print(table(f"{server.label}, round {round_}", run_), flush=True)
    summaries = {label: summarise(server_runs) for label, server_runs in runs.items()}
    return {
        "machine": machine(),
        "load": {"users": users, "seconds": seconds, "warmup_seconds": warmup, "rounds": rounds},
        "servers": {server.label: asdict(server) for server in servers},
        "summary": summaries,
        "comparison": {
            label: compare(summary, summaries.get(BASELINE_LABEL))
            for label, summary in summaries.items()
            if label != BASELINE_LABEL
        },
    }


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = benchmark_parser("python -m benchmarks.load_run", __doc__)
    parser.add_argument("--users", type=int, default=20, help="Locust clients (default 20)")
    parser.add_argument("--duration", type=int, default=60, help="seconds measured (default 60)")
    parser.add_argument("--warmup", type=int, default=10, help="seconds before (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each server (default 3)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        help="WORKERSxTHREADS to measure instead of `foncier serve`'s defaults (repeatable)",
    )
    parser.add_argument(
        "--baseline", default=BASELINE, help=f"WORKERSxTHREADS of the baseline ({BASELINE})"
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure one server only")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_DIR / "load", help="Locust's CSV and server logs"
    )
    parser.add_argument("--json", help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    servers = [Server.parse(text, text) for text in args.server] or [Server(SHIPPED_LABEL)]
    if not args.no_baseline:
        servers.append(Server.parse(BASELINE_LABEL, args.baseline))
    with bench_database(args, DATABASE) as url:
        report = run(
            url, servers, rounds=args.rounds, users=args.users, seconds=args.duration,
            warmup=args.warmup, directory=args.output,
        )  # fmt: skip
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
