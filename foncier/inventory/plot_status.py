"""A plot's marketing stage, as a référent moves it every week: the moves offered from each
stage (STATUS_CHANGES), and the sale's facts a move to « vendu » requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor
from foncier.inventory.editing import (
    SALE_FIELDS,
    SOLD,
    apply_values,
    check_version,
    current_values,
    known_values,
    saving_record,
    terrain_for_edit,
)
from foncier.models import Terrain


class StatusAction(StrEnum):
    PUT_ON_SALE = "mise-en-vente"
    RESERVE = "reservation"
    SELL = "vente"
    WITHDRAW = "retrait"


@dataclass(frozen=True)
class StatusChange:
    """One click of a referent: the stage it sets, how the page and the history name it."""

    action: StatusAction
    button: str
    stade: str
    # Recorded as the reason of the change in the audit trail; a noun phrase whose gender
    # the confirmation agrees with (« Mise en vente enregistrée », « Retrait … enregistré »).
    reason: str
    feminine: bool
    question: str
    needs_sale: bool = False

    @property
    def confirmation(self) -> str:
        """« Mise en vente enregistrée »: what the page says once the change is saved."""
        return f"{self.reason} {'enregistrée' if self.feminine else 'enregistré'}"


STATUS_CHANGES: Final = {
    change.action: change
    for change in (
        StatusChange(
            StatusAction.PUT_ON_SALE,
            "Mettre en vente",
            "en vente",
            "Mise en vente",
            True,
            "Mettre ce terrain en vente ? Il sera proposé aux entreprises de tout le réseau.",
        ),
        StatusChange(
            StatusAction.RESERVE,
            "Réserver (option)",
            "réservé par option de réservation",
            "Réservation (option)",
            True,
            "Marquer ce terrain comme réservé par une option ou un compromis de vente ?",
        ),
        StatusChange(
            StatusAction.SELL,
            "Marquer vendu",
            SOLD,
            "Vente",
            True,
            "Enregistrer la vente de ce terrain ? Indiquez l’acquéreur, la date et le montant.",
            needs_sale=True,
        ),
        StatusChange(
            StatusAction.WITHDRAW,
            "Retirer de la commercialisation",
            "non commercialisé",
            "Retrait de la commercialisation",
            False,
            "Retirer ce terrain de la commercialisation ? Il ne sera plus proposé aux entreprises.",
        ),
    )
}


@dataclass(frozen=True)
class Sale:
    """What the law's inventory and the CNIG standard keep of a sale (confidential)."""

    acquereur: str | None
    cession_date: date | None
    vente_montant: Decimal | None


def status_changes_for(terrain: Terrain) -> list[StatusChange]:
    """The quick changes that make sense from the plot's present stage."""
    return [c for c in STATUS_CHANGES.values() if c.stade != terrain.terr_stade_comm]


def clears_sale(terrain: Terrain, change: StatusChange) -> bool:
    """Whether ``change`` takes a sold plot back, which erases its sale (see sale_rules)."""
    return terrain.terr_stade_comm == SOLD and change.stade != SOLD


def change_terrain_status(
    session: Session,
    actor: Actor,
    terr_id: str,
    action: StatusAction,
    *,
    expected_version: int,
    sale: Sale | None = None,
    today: date | None = None,
) -> Terrain:
    """Set the plot's marketing stage (and the sale, for SELL), recorded with its reason."""
    terrain = terrain_for_edit(session, actor, terr_id)
    change = STATUS_CHANGES[action]
    audit.acting_as(session, actor)
    check_version(terrain, expected_version)
    today = today or date.today()
    values: dict[str, Any] = {"terr_stade_comm": change.stade}
    if change.needs_sale:
        sale = sale or Sale(None, None, None)
        typed = {
            "terr_acquereur": sale.acquereur,
            "terr_cession_date": sale.cession_date,
            "terr_vente_montant": sale.vente_montant,
        }
        values |= known_values(typed, SALE_FIELDS)
    merged = current_values(terrain, (*SALE_FIELDS, "terr_stade_comm")) | values
    implied, problems = sale_rules(terrain, merged, today)
    problems = formula_problems(values) | problems
    if problems:
        raise ValidationError(problems)
    with saving_record(session, terrain, change.reason):
        apply_values(terrain, values | implied, today=today)
    return terrain


def sale_rules(
    current: Terrain | None, values: Mapping[str, Any], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """What the marketing stage in ``values`` (the plot's values after the edit) implies for
    its sale, the same for the edit form and the quick actions. Returns the sale fields to
    write and the problems, by field.

    A plot becomes sold only with its buyer, a date not in the future and an amount. A sold
    plot that goes back to another stage loses them: they describe a sale that no longer
    holds (the audit trail keeps them). A sold plot edited for something else keeps its sale
    as it is, even incomplete: a CNIG file may have recorded the sale without it.
    """
    was_sold = current is not None and current.terr_stade_comm == SOLD
    if values.get("terr_stade_comm") != SOLD:
        return (dict.fromkeys(SALE_FIELDS) if was_sold else {}), {}
    sale = {name: values.get(name) for name in SALE_FIELDS}
    if was_sold and all(sale[name] == getattr(current, name) for name in SALE_FIELDS):
        return {}, {}
    return sale, _sale_problems(sale, today)


def _sale_problems(sale: Mapping[str, Any], today: date) -> dict[str, str]:
    errors = {}
    if not sale["terr_acquereur"]:
        errors["terr_acquereur"] = "Indiquez l’acquéreur."
    cession_date, amount = sale["terr_cession_date"], sale["terr_vente_montant"]
    if cession_date is None:
        errors["terr_cession_date"] = "Indiquez la date de la vente."
    elif cession_date > today:
        errors["terr_cession_date"] = "La date de la vente ne peut pas être dans le futur."
    if amount is None:
        errors["terr_vente_montant"] = "Indiquez le montant de la vente."
    elif amount <= 0:
        errors["terr_vente_montant"] = "Le montant doit être strictement positif."
    return errors
