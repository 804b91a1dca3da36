"""The GeoJSON API: EPCI outlines, parks, plots and constraint zones (docs/api.md)."""

from foncier.web.api.views import api

__all__ = ["api"]
