"""What the proposal form offers is what the core accepts (foncier.redirections.proposals):
proposal_targets and offerable_plots apply the very conditions propose_redirection checks, so
every EPCI and plot offered is accepted, and every other is refused with its reason."""

from __future__ import annotations

import pytest
from case_helpers import (
    GATINE_RACAN,
    LOCHES,
    METROPOLE,
    keep_plots,
    new_prospect,
    plots_on_sale,
    referent_of,
    referent_user,
)
from sqlalchemy.orm import Session

from foncier.core.errors import PermissionDeniedError, ValidationError
from foncier.core.permissions import Actor
from foncier.models import Prospect
from foncier.redirections.proposals import (
    offerable_plots,
    proposal_targets,
    propose_redirection,
)
from foncier.territory.epcis import list_epcis

MESSAGE = "Votre parc a ce qu’il faut."
VAL_D_AMBOISE = "200043065"
KEPT_FROM = (METROPOLE, GATINE_RACAN, VAL_D_AMBOISE, LOCHES)


def refusal(
    session: Session, actor: Actor, prospect: Prospect, to: str, terr_ids: list[str]
) -> dict[str, str]:
    """What the core refuses in this proposal ({} if it accepts it); nothing of it is kept."""
    attempt = session.begin_nested()
    try:
        propose_redirection(session, actor, prospect, to, terr_ids, MESSAGE)
    except ValidationError as error:
        return error.errors
    finally:
        attempt.rollback()
    return {}


@pytest.fixture
def prospect(session) -> Prospect:
    """A Métropole project that kept plots of three other EPCIs and one of its own: two Polaxis
    plots (Gâtine-Racan: offered), a Val d’Amboise plot (its référents have left), a Loches plot
    sold since it was kept, a Métropole plot (the lead's)."""
    prospect = new_prospect(session, stage="recherche")
    polaxis = [plot.terr_id for plot in plots_on_sale(session, GATINE_RACAN, 2)]
    amboise, loches, own = (
        plots_on_sale(session, siren)[0] for siren in (VAL_D_AMBOISE, LOCHES, METROPOLE)
    )
    keep_plots(session, prospect, [*polaxis, amboise.terr_id, loches.terr_id, own.terr_id])
    referent_user(session, VAL_D_AMBOISE).active = False
    loches.terr_stade_comm = "vendu, commercialisation achevée"
    session.flush()
    return prospect


def test_the_form_offers_exactly_the_targets_the_core_accepts(session, prospect):
    lead = referent_of(session, METROPOLE)
    offered = [siren for siren, _nom in proposal_targets(session, lead, prospect)]
    assert offered == [GATINE_RACAN]
    plots = offerable_plots(session, lead, prospect)
    for siren, _nom in list_epcis(session):
        # The plots the form offers for it, else some of its own on sale: the target decides.
        terr_ids = [p.terr_id for p in plots if p.epci_siren == siren] or [
            p.terr_id for p in plots_on_sale(session, siren, 2)
        ]
        refused = refusal(session, lead, prospect, siren, terr_ids)
        if siren in offered:
            assert refused == {}, siren
        else:
            assert "to_epci_siren" in refused, siren


def untouched_epci(session) -> str:
    """An EPCI with plots on sale, none of which the project kept."""
    return next(
        siren
        for siren, _nom in list_epcis(session)
        if siren not in KEPT_FROM and plots_on_sale(session, siren)
    )


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (METROPOLE, "déjà suivi par cet EPCI"),
        (VAL_D_AMBOISE, "n’a aucun référent actif"),
        (LOCHES, "Aucun terrain en vente de la sélection du projet"),
        # Parks and plots on sale, none kept: the form offered such an EPCI before.
        (None, "Aucun terrain en vente de la sélection du projet"),
    ],
)
def test_a_target_the_form_does_not_offer_is_refused_and_told_why(
    session, prospect, target, reason
):
    lead = referent_of(session, METROPOLE)
    target = target or untouched_epci(session)
    assert target not in dict(proposal_targets(session, lead, prospect))
    plots = [p.terr_id for p in plots_on_sale(session, target, 1)]
    assert reason in refusal(session, lead, prospect, target, plots)["to_epci_siren"]


def test_every_offered_plot_is_accepted_and_no_other_plot_of_the_target(session, prospect):
    lead = referent_of(session, METROPOLE)
    offered = [plot.terr_id for plot in offerable_plots(session, lead, prospect)]
    polaxis = [plot.terr_id for plot in plots_on_sale(session, GATINE_RACAN, 3)]
    assert offered == polaxis[:2]
    for terr_id in offered:
        assert refusal(session, lead, prospect, GATINE_RACAN, [terr_id]) == {}
    # On sale in the target, but not kept for the project: the form does not list it.
    refused = refusal(session, lead, prospect, GATINE_RACAN, [*offered, polaxis[2]])
    assert refused == {
        "terr_ids": f"Ces terrains ne sont pas dans la sélection du projet : {polaxis[2]}. "
        "Gardez-les d’abord depuis la recherche de terrains."
    }


def test_a_case_that_can_no_longer_move_away_offers_no_target(session, prospect):
    lead = referent_of(session, METROPOLE)
    prospect.stage = "option"
    session.flush()
    assert proposal_targets(session, lead, prospect) == []
    assert offerable_plots(session, lead, prospect) == []


@pytest.mark.parametrize("who", [GATINE_RACAN, LOCHES])
def test_only_the_lead_is_offered_choices(session, prospect, who):
    with pytest.raises(PermissionDeniedError, match="l’orientation de ce projet"):
        proposal_targets(session, referent_of(session, who), prospect)
    with pytest.raises(PermissionDeniedError):
        offerable_plots(session, referent_of(session, who), prospect)
