"""Exchange of the inventory in the files of the CNIG "Sites Économiques" standard."""

from foncier.inventory.cnig.exporter import ExportReport, export_cnig
from foncier.inventory.cnig.importer import ImportReport, TableCounts, import_cnig
from foncier.inventory.cnig.issues import Issue, SourceFile

__all__ = [
    "ExportReport",
    "ImportReport",
    "Issue",
    "SourceFile",
    "TableCounts",
    "export_cnig",
    "import_cnig",
]
