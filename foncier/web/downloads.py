"""Files the pages hand out (CSV, Excel, PDF): an attachment with its name, always built here."""

from __future__ import annotations

from typing import Final

from flask import Response

from foncier.inventory.exports import XLSX_TYPE

CSV_TYPE: Final = "text/csv"  # Flask adds « ; charset=utf-8 »
PDF_TYPE: Final = "application/pdf"
__all__ = ["CSV_TYPE", "PDF_TYPE", "XLSX_TYPE", "attachment"]


def attachment(
    content: bytes | str, media_type: str, filename: str, headers: dict[str, str] | None = None
) -> Response:
    """A download of ``content`` named ``filename`` (a name the platform chose or cleaned)."""
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, mimetype=media_type, headers={**disposition, **(headers or {})})
