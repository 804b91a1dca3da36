"""The inventory pages: the map, the list of parks, a park, a plot."""

from foncier.web.inventory.views import inventory

__all__ = ["inventory"]
