"""Shared-benefit agreements between EPCIs: list, terms, signatures, PDF, calculator, ledger."""

from foncier.web.agreements.views import agreements

__all__ = ["agreements"]
