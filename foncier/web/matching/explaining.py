"""One pass over the plots on offer per page: the ranking and every plot explained from it.

The engine's ``match`` and ``why_not`` each read every plot on offer (``scan_offer``): a
search page that also answers « pourquoi pas ? », or a comparison of four plots, would read
them two to four times. The engine has no search that explains chosen plots yet, so the
pages compose its own steps around a single scan:

- ``ranking`` is ``match`` on a scan already made;
- ``explain`` is ``why_not`` for several plots: a plot failing a hard constraint needs no
  scan at all (its failures come from its own facts); the eligible ones get their rank and
  breakdown from the one scan, computed with the engine's own helpers.

tests/web/test_matching_pages.py checks that both answer exactly what ``match`` and
``why_not`` answer, and that a page scans once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from sqlalchemy.orm import Session

from foncier.matching import MatchResult, Needs, WhyNot, engine, load_plot_facts, scoring


@dataclass(frozen=True)
class Scan:
    """The plots on offer for ``needs``, read once, and the candidates' scores."""

    needs: Needs
    weights: dict[str, float]
    offer: engine.Offer
    scores: np.ndarray


def scan(session: Session, needs: Needs) -> Scan:
    """Read the plots on offer once (the engine's ``scan_offer``) and score the candidates."""
    weights = scoring.resolve_weights(needs)
    offer = engine.scan_offer(session, needs)
    return Scan(needs, weights, offer, scoring.score_arrays(offer.candidates, needs, weights))


def ranking(session: Session, scanned: Scan, limit: int) -> MatchResult:
    """What ``match(session, scanned.needs, limit=limit)`` answers, from the scan."""
    candidates = scanned.offer.candidates
    top = engine.top_indices(scanned.scores, candidates.terr_id, limit, scanned.needs)
    return MatchResult(
        needs=scanned.needs,
        weights=scanned.weights,
        results=engine._results(  # the engine's own step: see the module's docstring
            session, scanned.needs, scanned.weights, [candidates.terr_id[i] for i in top]
        ),
        excluded=scanned.offer.excluded,
        candidates=len(candidates),
        available=scanned.offer.available,
        plots=scanned.offer.plots,
    )


def explain(
    session: Session, needs: Needs, terr_ids: Sequence[str], scanned: Callable[[], Scan]
) -> dict[str, WhyNot]:
    """What ``why_not`` answers for each of ``terr_ids`` (unknown plots are left out).

    ``scanned`` gives the page's scan; it is called only if a plot passes every hard
    constraint, at most once.
    """
    shared = cache(scanned)
    answers = {}
    for plot in load_plot_facts(session, list(dict.fromkeys(terr_ids))):
        failures = scoring.hard_failures(plot, needs)
        if failures:
            answers[plot.terr_id] = WhyNot(terr_id=plot.terr_id, failed=failures)
            continue
        current = shared()
        candidates = current.offer.candidates
        answers[plot.terr_id] = WhyNot(
            terr_id=plot.terr_id,
            failed=[],
            rank=engine._rank_of(plot.terr_id, current.scores, candidates.terr_id, needs),
            candidates=len(candidates),
            **engine._breakdown(plot, needs, current.weights),
        )
    return answers
