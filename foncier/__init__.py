"""foncier: shared business-land inventory and company redirection for networks of EPCIs.

This package is the domain core; it never imports Flask (the web adapter is foncier.web).
"""
