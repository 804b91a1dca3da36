"""The network's meeting: so far the balances between territories (/reseau/bilans)."""

from foncier.web.meetings.views import meetings

__all__ = ["meetings"]
