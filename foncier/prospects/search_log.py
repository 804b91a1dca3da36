"""The search log: each search run from a company project's plots page, with its top results.

The network's balances weigh each EPCI's exposure from it (foncier.meetings.balances) and
issue 14's learning will read which plots a project was shown. It is a log, not a record of
anyone's decision: it is not in the audit trail, and it holds no company data — the needs as
the engine normalised them, without the free label, and per rank the plot, its EPCI at the
time, its score and each criterion's value — so the retention purge of contacts
(foncier.prospects.retention) has nothing to erase in it. A project's runs go with the project.

Reloading the page must not inflate the exposure: a run is recorded only when the project has
none yet, when its needs differ from its last run's, or when its last run is older than
``RERUN_AFTER`` (the offer may have changed; once a day at most per unchanged project).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.matching import MatchResult
from foncier.models import Prospect, SearchResult, SearchRun
from foncier.prospects.projects import project_needs_data

# The results of a run the log keeps: the exposure counts the top 10 (docs/meetings.md).
LOGGED_RESULTS: Final = 10
RERUN_AFTER: Final = timedelta(days=1)


def logged_needs(result: MatchResult) -> dict[str, Any]:
    """The needs as the log keeps them: normalised, without what a project does not keep."""
    needs = project_needs_data(result.needs.to_json())
    assert isinstance(needs, dict)  # to_json gives a dict
    return needs


def log_search(
    session: Session, prospect: Prospect, result: MatchResult, now: datetime | None = None
) -> SearchRun | None:
    """Record ``result`` as a run of ``prospect`` unless its last run had the same needs less
    than RERUN_AFTER ago; returns the new run, or None. Flushes; the caller commits."""
    now = now or datetime.now(UTC)
    needs = logged_needs(result)
    last = session.scalars(
        select(SearchRun)
        .where(SearchRun.prospect_id == prospect.id)
        .order_by(SearchRun.ran_at.desc(), SearchRun.id.desc())
        .limit(1)
    ).first()
    if last is not None and last.needs == needs and now - last.ran_at < RERUN_AFTER:
        return None
    run = SearchRun(prospect_id=prospect.id, ran_at=now, needs=needs)
    run.results = [
        SearchResult(
            rank=plot.rank,
            terr_id=plot.terr_id,
            epci_siren=plot.epci_siren,
            score=float(plot.score),
            criteria={criterion.name: float(criterion.value) for criterion in plot.criteria},
        )
        for plot in result.results[:LOGGED_RESULTS]
    ]
    session.add(run)
    session.flush()
    return run
