"""Company projects: list, record, project page with matching, shortlist and proposals."""

from foncier.web.prospects.views import prospects

__all__ = ["prospects"]
