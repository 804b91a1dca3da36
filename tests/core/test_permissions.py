"""Who may write which EPCI's inventory, and read its private fields."""

from __future__ import annotations

import pytest

from foncier.core.errors import PermissionDeniedError
from foncier.core.permissions import Actor, Role

OWN, OTHER = "200073237", "243700754"


@pytest.mark.parametrize(
    "actor, can_edit_own, can_edit_other",
    [
        (Actor("r", Role.REFERENT, 1, OWN), True, False),
        (Actor("c", Role.COORDINATEUR, 2), True, True),
        (Actor("a", Role.ADMIN, 3), True, True),
        (Actor("p", Role.PARTENAIRE, 4), False, False),
    ],
)
def test_writing_and_private_fields_follow_the_role_and_the_epci(
    actor, can_edit_own, can_edit_other
):
    assert actor.can_edit(OWN) is can_edit_own and actor.can_edit(OTHER) is can_edit_other
    assert actor.can_see_private(OWN) is can_edit_own
    assert actor.can_see_private(OTHER) is can_edit_other


def test_a_referent_without_an_epci_writes_nothing():
    assert not Actor("r", Role.REFERENT, 1, None).can_edit(None)


def test_refusals_explain_themselves_in_french():
    with pytest.raises(PermissionDeniedError, match="autre EPCI"):
        Actor("r", Role.REFERENT, 1, OWN).require_edit(OTHER, "ce terrain")
    with pytest.raises(PermissionDeniedError, match="Partenaire"):
        Actor("p", Role.PARTENAIRE, 4).require_edit(OWN, "ce terrain")
    with pytest.raises(PermissionDeniedError, match="gèrent les comptes"):
        Actor("r", Role.REFERENT, 1, OWN).require_account_management()


def test_system_actors_name_the_operator():
    actor = Actor.system("cli")
    assert actor.label.startswith("cli:") and actor.role is Role.ADMIN and actor.user_id is None
