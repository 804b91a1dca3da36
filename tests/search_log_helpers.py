"""Search runs written straight into the log, dated and ranked as a test needs them (the
plots page's own logging is tested in tests/web/test_search_log_pages.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from case_helpers import new_prospect
from sqlalchemy.orm import Session

from foncier.models import SearchResult, SearchRun


def log_run(session: Session, ran_at: datetime, ranked_epcis: Sequence[str]) -> SearchRun:
    """A run of a new project at ``ran_at`` whose result at rank r lies in ranked_epcis[r-1]."""
    run = SearchRun(prospect_id=new_prospect(session).id, ran_at=ran_at, needs={})
    run.results = [
        SearchResult(rank=rank, terr_id=f"T{rank}", epci_siren=siren, score=0.5, criteria={})
        for rank, siren in enumerate(ranked_epcis, start=1)
    ]
    session.add(run)
    session.flush()
    return run


def weight(rank: int) -> float:
    """The exposure of a result at ``rank``, as docs/meetings.md writes it."""
    return 1 / math.log2(1 + rank)
