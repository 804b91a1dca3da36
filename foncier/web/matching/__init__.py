"""The search for plots: a company's needs, the ranked plots, comparison and printable sheets."""

from foncier.web.matching.views import matching

__all__ = ["matching"]
