"""The inventory pages: the map, the list of parks, a park, a plot, and their editing."""

# Importing the editing views registers them on the blueprint.
from foncier.web.inventory import editing  # noqa: F401
from foncier.web.inventory.views import inventory

__all__ = ["inventory"]
