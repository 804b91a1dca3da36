"""Measure the matching engine on a generated inventory, next to a naive baseline.

    python -m benchmarks.run                       # the inventory of benchmarks.generate
    python -m benchmarks.run --needs 3 --database-url URL --json report.json

For each of N needs (benchmarks.needs), after a warm-up round: the latency of
``foncier.matching.match`` (server side: the function call in this process, its own session
and connection as a web worker has), its Python peak memory (tracemalloc, in a separate round
so that tracing does not slow the timed calls), and the naive baseline in the same process —
load every available plot through the ORM, build PlotFacts, loop over hard_failures and
score_plot in Python, sort — with the top 10 of both compared needs by needs. Prints a table
and a JSON summary (also written to --json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import naive
from benchmarks.database import bench_database, benchmark_parser
from benchmarks.needs import benchmark_needs
from foncier.core import migrations
from foncier.core.db import make_engine
from foncier.matching import match, parse_needs
from foncier.models import ConstraintZone, Site, Terrain
from foncier.models.codelists import STADES_DISPONIBLES

TOP = 10
# Targets of issue 4 for 1M plots on 2 cores.
TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 150.0
TARGET_SPEEDUP = 20.0


@dataclass
class NeedsMeasure:
    label: str
    candidates: int
    fast_ms: list[float]
    naive_ms: float | None = None
    traced_peak_mib: float | None = None
    same_top: bool | None = None
    fast_top: list[str] = field(default_factory=list)
    naive_top: list[str] = field(default_factory=list)

    @property
    def fast_median_ms(self) -> float:
        return statistics.median(self.fast_ms)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of values at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``call(*args, **kwargs)`` and how many milliseconds it took."""
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def fast_top(factory: sessionmaker[Session], needs: Any, limit: int) -> tuple[dict, float]:
    """One engine call in a fresh session (as a request has), its JSON and milliseconds."""
    with factory() as session:
        result, elapsed = timed(match, session, needs, limit=limit)
        session.rollback()
    return result.to_json(), elapsed


def traced_peak_mib(factory: sessionmaker[Session], needs: Any, limit: int) -> float:
    with factory() as session:
        tracemalloc.start()
        match(session, needs, limit=limit)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        session.rollback()
    return peak / 2**20


def park_places(factory: sessionmaker[Session], count: int = 200) -> list[tuple[float, float]]:
    """(lat, lon) of a fixed sample of park centres: places companies want to be near."""
    centre = func.ST_Transform(func.ST_PointOnSurface(Site.site_geomsurf), 4326)
    with factory() as session:
        rows = session.execute(
            select(func.ST_Y(centre), func.ST_X(centre))
            .order_by(func.md5(Site.site_id))
            .limit(count)
        ).all()
    return [(lat, lon) for lat, lon in rows]


def dataset_figures(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        plots = session.scalar(select(func.count()).select_from(Terrain))
        available = session.scalar(
            select(func.count()).where(Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
        )
        return {
            "plots": plots,
            "available_plots": available,
            "parks": session.scalar(select(func.count()).select_from(Site)),
            "epcis_with_parks": session.scalar(select(func.count(Site.site_epci_siren.distinct()))),
            "constraint_zones": session.scalar(select(func.count()).select_from(ConstraintZone)),
            "database_size": session.scalar(
                text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            ),
            "postgres": session.scalar(text("SHOW server_version")),
        }


def machine() -> dict[str, Any]:
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
        ]
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return {
        "cpu": models[0] if models else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 2**20, 1),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def time_engine(
    factory: sessionmaker[Session], documents: list[dict[str, Any]], parsed: list[Any], *,
    repeat: int, limit: int,
) -> list[NeedsMeasure]:  # fmt: skip
    for needs in parsed:  # warm-up: caches, plans, the server's buffers
        fast_top(factory, needs, limit)
    measures = []
    for document, needs in zip(documents, parsed, strict=True):
        runs = [fast_top(factory, needs, limit) for _ in range(repeat)]
        output = runs[0][0]
        measures.append(
            NeedsMeasure(
                label=document.get("label", ""),
                candidates=output.get("candidates", -1),
                fast_ms=[elapsed for _, elapsed in runs],
                fast_top=[result["terr_id"] for result in output["results"][:TOP]],
            )
        )
    return measures


def compare_with_baseline(
    factory: sessionmaker[Session], measures: list[NeedsMeasure], parsed: list[Any]
) -> None:
    """Run the naive baseline for each measure given, and record its time and top 10."""
    for measure_, needs in zip(measures, parsed, strict=False):
        with factory() as session:
            top, measure_.naive_ms = timed(naive.top_plots, session, needs, TOP)
        measure_.naive_top = top
        measure_.same_top = top == measure_.fast_top


def measure(
    factory: sessionmaker[Session], documents: list[dict[str, Any]], *, repeat: int,
    limit: int, naive_count: int,
) -> tuple[list[NeedsMeasure], dict[str, float]]:  # fmt: skip
    """Engine timings, then its memory, then the baseline (the most memory-hungry) last, so
    that the process's peak RSS can be read after each."""
    parsed = [parse_needs(document) for document in documents]
    measures = time_engine(factory, documents, parsed, repeat=repeat, limit=limit)
    memory = {"rss_after_fast_mib": round(rss_mib(), 1)}
    for measure_, needs in zip(measures, parsed, strict=True):
        measure_.traced_peak_mib = round(traced_peak_mib(factory, needs, limit), 2)
    compare_with_baseline(factory, measures[:naive_count], parsed)
    memory["rss_after_naive_mib"] = round(rss_mib(), 1)
    return measures, memory


def summarise(
    measures: list[NeedsMeasure], memory: dict[str, float], repeat: int
) -> dict[str, Any]:
    fast = [ms for measure_ in measures for ms in measure_.fast_ms]
    compared = [m for m in measures if m.naive_ms is not None]
    fast_median = statistics.median(fast)
    naive_median = statistics.median([m.naive_ms for m in compared]) if compared else None
    # The speed-up is measured on the needs both ran, so that they are compared like for like.
    fast_median_compared = (
        statistics.median([m.fast_median_ms for m in compared]) if compared else None
    )
    speedup = naive_median / fast_median_compared if compared else None
    mismatches = [
        {"needs": m.label, "fast": m.fast_top, "naive": m.naive_top}
        for m in compared
        if not m.same_top
    ]
    summary = {
        "needs": len(measures),
        "calls_per_needs": repeat,
        "fast_ms": {
            "median": round(fast_median, 1),
            "p95": round(percentile(fast, 0.95), 1),
            "max": round(max(fast), 1),
        },
        "naive_ms": {
            "needs_measured": len(compared),
            "median": round(naive_median, 1) if naive_median else None,
            "max": round(max(m.naive_ms for m in compared), 1) if compared else None,
        },
        "speedup_median": round(speedup, 1) if speedup else None,
        "memory": {
            "tracemalloc_peak_mib_max": max(m.traced_peak_mib or 0 for m in measures),
            "tracemalloc_peak_mib_median": statistics.median(
                [m.traced_peak_mib or 0 for m in measures]
            ),
            **memory,
        },
        "candidates": {
            "min": min(m.candidates for m in measures),
            "median": statistics.median(m.candidates for m in measures),
            "max": max(m.candidates for m in measures),
        },
        # Comparisons that say something: needs with a full top 10 on both sides.
        "needs_with_10_results": sum(len(m.fast_top) == TOP for m in measures),
        "top10_identical": f"{len(compared) - len(mismatches)}/{len(compared)}",
        "mismatches": mismatches,
    }
    summary["targets_met"] = {
        "median_le_50ms": summary["fast_ms"]["median"] <= TARGET_MEDIAN_MS,
        "p95_le_150ms": summary["fast_ms"]["p95"] <= TARGET_P95_MS,
        "speedup_ge_20x": speedup is not None and speedup >= TARGET_SPEEDUP,
        "same_top10_everywhere": bool(compared) and not mismatches,
    }
    return summary


def table(measures: list[NeedsMeasure]) -> str:
    lines = [f"{'needs':<26} {'cand.':>7} {'fast ms':>8} {'naive ms':>9} {'x':>6} {'MiB':>6} top10"]
    for m in measures:
        naive_ms = f"{m.naive_ms:9.0f}" if m.naive_ms is not None else f"{'-':>9}"
        ratio = f"{m.naive_ms / m.fast_median_ms:6.0f}" if m.naive_ms is not None else f"{'-':>6}"
        same = {True: "same", False: "DIFF", None: "-"}[m.same_top]
        lines.append(
            f"{m.label[:26]:<26} {m.candidates:>7} {m.fast_median_ms:8.1f} {naive_ms} {ratio}"
            f" {m.traced_peak_mib or 0:6.1f} {same}"
        )
    return "\n".join(lines)


def run(
    url: str,
    *,
    needs: int = 50,
    seed: int = 4,
    repeat: int = 3,
    limit: int = 20,
    naive_count: int | None = None,
) -> dict[str, Any]:
    """Measure on the database at ``url``; return the report (per needs and summary)."""
    migrations.upgrade(url)  # the engine may need indexes added after the data were generated
    engine = make_engine(url)
    factory = sessionmaker(bind=engine)
    try:
        documents = benchmark_needs(needs, park_places(factory), seed)
        measures, memory = measure(
            factory,
            documents,
            repeat=repeat,
            limit=limit,
            naive_count=needs if naive_count is None else naive_count,
        )
        return {
            "machine": machine(),
            "dataset": dataset_figures(factory),
            "summary": summarise(measures, memory, repeat),
            "per_needs": [
                {**asdict(m), "fast_median_ms": round(m.fast_median_ms, 2), "needs": d}
                for m, d in zip(measures, documents, strict=True)
            ],
            "table": table(measures),
        }
    finally:
        engine.dispose()


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = benchmark_parser("python -m benchmarks.run", __doc__)
    parser.add_argument("--needs", type=int, default=50, help="how many needs (default 50)")
    parser.add_argument("--seed", type=int, default=4, help="seed of the needs")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per needs")
    parser.add_argument("--limit", type=int, default=20, help="results asked of the engine")
    parser.add_argument(
        "--naive-needs", type=int, help="run the baseline on the first N needs only (default: all)"
    )
    parser.add_argument("--json", help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    with bench_database(args) as url:
        report = run(
            url,
            needs=args.needs,
            seed=args.seed,
            repeat=args.repeat,
            limit=args.limit,
            naive_count=args.naive_needs,
        )
    print(report["table"])
    print(
        json.dumps(
            {key: report[key] for key in ("machine", "dataset", "summary")},
            ensure_ascii=False,
            indent=2,
        )
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(report, stream, ensure_ascii=False, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
