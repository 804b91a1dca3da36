"""Redirections between EPCIs, the case of a project, and the inbox that announces them."""

from foncier.web.redirections.views import redirections

__all__ = ["redirections"]
