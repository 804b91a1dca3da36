"""The GeoJSON API: EPCI outlines, parks, plots and constraint zones (docs/api.md)."""

from foncier.web.api import balances, cadastre, match, openapi  # noqa: F401  (their routes join the blueprint)
from foncier.web.api.views import api

__all__ = ["api"]
