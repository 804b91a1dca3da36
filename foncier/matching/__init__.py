"""The matching engine: a company's needs scored against every plot on offer, explained.

``parse_needs`` validates and normalises the needs; ``match`` ranks the plots of the whole
network; ``why_not`` explains one plot. docs/matching.md documents the semantics.
"""

from foncier.matching.engine import (
    MatchedPlot,
    MatchResult,
    WhyNot,
    load_plot_facts,
    match,
    rebuild_matching_data,
    why_not,
)
from foncier.matching.needs import (
    Near,
    Needs,
    NeedsError,
    NeedsIssue,
    parse_needs,
    read_needs_json,
    schema,
)
from foncier.matching.scoring import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    HARD_CONSTRAINTS,
    Criterion,
    Failure,
    PlotArrays,
    PlotFacts,
    Scored,
    hard_failures,
    score_arrays,
    score_plot,
)

__all__ = [
    "CRITERIA",
    "DEFAULT_WEIGHTS",
    "HARD_CONSTRAINTS",
    "Criterion",
    "Failure",
    "MatchResult",
    "MatchedPlot",
    "Near",
    "Needs",
    "NeedsError",
    "NeedsIssue",
    "PlotArrays",
    "PlotFacts",
    "Scored",
    "WhyNot",
    "hard_failures",
    "load_plot_facts",
    "match",
    "parse_needs",
    "read_needs_json",
    "rebuild_matching_data",
    "schema",
    "score_arrays",
    "score_plot",
    "why_not",
]
