"""The case panel of a project page (placeholder until helper B fills it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from foncier.models import Prospect
from foncier.permissions import Actor


def case_panel(session: Session, actor: Actor, prospect: Prospect) -> dict[str, Any]:
    return {}
