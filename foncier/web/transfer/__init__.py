"""The imports and exports page: upload CNIG, GeoJSON or GeoPackage files with a preview before
anything is written, and download the inventory as CNIG CSV, GeoJSON or Excel."""

from foncier.web.transfer.views import transfer

__all__ = ["transfer"]
