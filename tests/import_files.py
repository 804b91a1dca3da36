"""CNIG files that the imports page's tests upload, through HTTP (tests/web) and in Chromium
(tests/browser)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy.orm import Session

from foncier.inventory.cnig import export_cnig

POLAXIS = "37167_SITE-ECO_00005"
LES_ATLANTES = "37233_SITE-ECO_00019"
NEW_PLOT = "37167_TERRAIN-ECO_98001"


def polaxis_plots_file(session: Session, tmp_path: Path) -> tuple[str, bytes, dict[str, str]]:
    """terrain-eco.csv of Polaxis with one plot repriced and one new plot; the repriced row."""
    export_cnig(session, tmp_path, site=POLAXIS)
    with (tmp_path / "terrain-eco.csv").open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream, delimiter=";")
        header, rows = list(reader.fieldnames or []), list(reader)
    rows[0]["terr_m2_prix"] = "33.3"
    rows.append(dict(rows[1], terr_id=NEW_PLOT))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return "terrain-eco.csv", out.getvalue().encode("utf-8"), rows[0]
