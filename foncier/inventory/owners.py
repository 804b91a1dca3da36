"""A plot's owners: personal data (required by law, never in open-data exports), seen and
changed only by those who may edit the plot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor
from foncier.inventory.editing import (
    SIREN,
    blank_to_none,
    check_version,
    owner_for_edit,
    required_problems,
    saving_record,
    terrain_for_edit,
)
from foncier.models import Owner

OWNER_FIELDS: Final = ("nom", "nature", "siren", "adresse")
OWNER_NATURES: Final = ("personne physique", "personne morale")


def add_owner(session: Session, actor: Actor, terr_id: str, values: Mapping[str, Any]) -> Owner:
    terrain = terrain_for_edit(session, actor, terr_id)
    values = _owner_values(values)
    audit.acting_as(session, actor)
    owner = Owner(terr_id=terrain.terr_id, **values)
    with audit.reason(session, "Ajout d’un propriétaire"):
        terrain.owners.append(owner)
    return owner


def update_owner(
    session: Session,
    actor: Actor,
    owner_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int,
) -> Owner:
    """Apply ``values`` to the owner, if nobody saved it since ``expected_version``."""
    owner = owner_for_edit(session, actor, owner_id)
    audit.acting_as(session, actor)
    check_version(owner, expected_version)
    cleaned = _owner_values(values)
    with saving_record(session, owner, "Modification d’un propriétaire"):
        for name, value in cleaned.items():
            if getattr(owner, name) != value:
                setattr(owner, name, value)
    return owner


def remove_owner(session: Session, actor: Actor, owner_id: int) -> None:
    owner = owner_for_edit(session, actor, owner_id)
    audit.acting_as(session, actor)
    with audit.reason(session, "Retrait d’un propriétaire"):
        session.delete(owner)


def _owner_values(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {name: blank_to_none(values.get(name)) for name in OWNER_FIELDS}
    errors = formula_problems(cleaned) | required_problems(cleaned, ("nom", "nature"))
    if cleaned["nature"] and cleaned["nature"] not in OWNER_NATURES:
        errors["nature"] = "Choisissez personne physique ou personne morale."
    if cleaned["siren"] and not SIREN.match(cleaned["siren"]):
        errors["siren"] = "Le SIREN compte 9 chiffres."
    if cleaned["siren"] and cleaned["nature"] == "personne physique":
        errors["siren"] = "Une personne physique n’a pas de SIREN."
    if errors:
        raise ValidationError(errors)
    return cleaned
