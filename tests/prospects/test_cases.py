"""The case's state machine (foncier.prospects.cases): every move from every stage, who may move,
what each move needs, and the plot's CNIG marketing stage following the case."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from case_helpers import (
    COMPANY,
    GATINE_RACAN,
    METROPOLE,
    coordinator,
    new_prospect,
    partner,
    plots_on_sale,
    referent_of,
    third_epci,
)
from sqlalchemy import select, text

from foncier.core.errors import PermissionDeniedError, StaleVersionError, ValidationError
from foncier.core.permissions import Actor
from foncier.inventory.editing import SOLD
from foncier.models import AuditEvent, CaseEvent, Redirection, Terrain
from foncier.models.prospects import PROSPECT_STAGES
from foncier.prospects import cases
from foncier.prospects.cases import RESERVED, advance_case

# The machine, written out again by hand: a change to cases.TRANSITIONS must change this too.
ALLOWED = {
    ("nouveau", "recherche"),
    ("nouveau", "visite"),
    ("nouveau", "offre"),
    ("nouveau", "perdu"),
    ("recherche", "visite"),
    ("recherche", "offre"),
    ("recherche", "perdu"),
    ("visite", "recherche"),
    ("visite", "offre"),
    ("visite", "perdu"),
    ("offre", "recherche"),
    ("offre", "option"),
    ("offre", "installe"),
    ("offre", "perdu"),
    ("option", "recherche"),
    ("option", "installe"),
    ("option", "perdu"),
}
YESTERDAY = date.today() - timedelta(days=1)


def inputs_for(session, to_stage: str) -> dict:
    """What the person gives with a move to ``to_stage`` (a plot of the Métropole)."""
    plot = plots_on_sale(session, METROPOLE)[0]
    return {
        "option": {"terr_id": plot.terr_id},
        "installe": {"terr_id": plot.terr_id, "on": YESTERDAY, "jobs_created": 12},
        "perdu": {"reason": "Implantation choisie hors du département"},
    }.get(to_stage, {})


def advance(session, actor, prospect, to_stage: str, **inputs) -> CaseEvent:
    """advance_case from the project's current version, as a page just read would send it."""
    return advance_case(session, actor, prospect, to_stage, version=prospect.version, **inputs)


def events_of(session, prospect) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.prospect_id == prospect.id).order_by(CaseEvent.id)
        )
    )


def test_the_machine_is_the_table_written_out_here():
    declared = {(a, b) for a, targets in cases.TRANSITIONS.items() for b in targets}
    assert declared == ALLOWED
    assert set(cases.TRANSITIONS) == set(PROSPECT_STAGES) == set(cases.STAGE_LABELS)
    assert cases.allowed_moves("offre") == ["recherche", "option", "installe", "perdu"]
    assert cases.allowed_moves("installe") == cases.allowed_moves("perdu") == []


@pytest.mark.parametrize(
    ("stage", "to_stage"), list(itertools.product(PROSPECT_STAGES, PROSPECT_STAGES))
)
def test_every_move_from_every_stage_is_allowed_or_refused_as_the_table_says(
    session, stage, to_stage
):
    prospect = new_prospect(session, stage=stage)
    lead = referent_of(session, METROPOLE)
    version = prospect.version
    move = lambda: advance_case(  # noqa: E731
        session, lead, prospect, to_stage, version=version, **inputs_for(session, to_stage)
    )
    if (stage, to_stage) in ALLOWED:
        event = move()
        assert prospect.stage == to_stage and prospect.version == version + 1
        assert (event.kind, event.details["from"], event.details["to"]) == (
            "stage_changed",
            stage,
            to_stage,
        )
        assert (event.user_id, event.epci_siren) == (lead.user_id, METROPOLE)
    else:
        with pytest.raises(ValidationError) as refused:
            move()
        assert "ne peut pas passer" in refused.value.errors["to_stage"]
        session.expire_all()
        assert prospect.stage == stage and prospect.version == version
        assert events_of(session, prospect) == []


def test_an_unknown_stage_is_refused(session):
    prospect = new_prospect(session)
    with pytest.raises(ValidationError, match="Étape inconnue"):
        advance_case(session, referent_of(session, METROPOLE), prospect, "signe", version=1)


@pytest.mark.parametrize(
    "who",
    ["other_referent", "former_lead", "coordinator", "partner", "admin", "target_referent"],
)
def test_only_a_referent_of_the_lead_epci_moves_the_case(session, who):
    # The project was recorded by the Métropole and is now led by Gâtine-Racan.
    prospect = new_prospect(session, stage="recherche", lead=METROPOLE)
    prospect.lead_epci_siren = GATINE_RACAN
    session.flush()
    actor = {
        "other_referent": lambda: referent_of(session, third_epci(session)),
        "former_lead": lambda: referent_of(session, METROPOLE),
        "coordinator": lambda: coordinator(session),
        "partner": lambda: partner(session),
        "admin": lambda: Actor.system("cli"),
        "target_referent": lambda: referent_of(session, GATINE_RACAN),
    }[who]()
    if who == "target_referent":
        advance(session, actor, prospect, "visite")
        assert prospect.stage == "visite"
        return
    with pytest.raises(PermissionDeniedError, match="Seuls les référents de l’EPCI qui suit"):
        advance(session, actor, prospect, "visite")
    assert prospect.stage == "recherche"


def test_a_stale_version_is_refused_and_changes_nothing(session):
    prospect = new_prospect(session, stage="recherche")
    lead = referent_of(session, METROPOLE)
    seen = prospect.version
    advance_case(session, lead, prospect, "visite", version=seen)
    with pytest.raises(StaleVersionError, match="pendant que vous le consultiez") as stale:
        advance_case(session, lead, prospect, "offre", version=seen)
    assert stale.value.current.stage == "visite"
    assert [e.details["to"] for e in events_of(session, prospect)] == ["visite"]


def test_the_case_does_not_move_while_a_redirection_waits(session):
    prospect = new_prospect(session, stage="recherche")
    session.add(
        Redirection(
            prospect_id=prospect.id,
            from_epci_siren=METROPOLE,
            to_epci_siren=GATINE_RACAN,
            message="Voyez Polaxis",
        )
    )
    session.flush()
    with pytest.raises(ValidationError, match="attend une réponse"):
        advance(session, referent_of(session, METROPOLE), prospect, "visite")


@pytest.mark.parametrize(
    ("to_stage", "given", "field", "message"),
    [
        ("option", {}, "terr_id", "Choisissez le terrain"),
        ("installe", {"jobs_created": 3}, "on", "Indiquez la date"),
        ("installe", {"on": date.today() + timedelta(days=2), "jobs_created": 3}, "on", "futur"),
        ("installe", {"on": YESTERDAY}, "jobs_created", "Indiquez le nombre"),
        ("installe", {"on": YESTERDAY, "jobs_created": -1}, "jobs_created", "négatif"),
        ("perdu", {"reason": "   "}, "reason", "pourquoi le projet est perdu"),
        ("perdu", {"reason": "@SUM(1+1)"}, "reason", "formule de tableur"),
        ("recherche", {"note": '=HYPERLINK("http://evil.example")'}, "note", "formule"),
    ],
)
def test_a_move_without_what_it_needs_is_refused(session, to_stage, given, field, message):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    if to_stage == "installe":
        given = {"terr_id": plot.terr_id, **given}
    with pytest.raises(ValidationError) as refused:
        advance(
            session,
            referent_of(session, METROPOLE),
            prospect,
            to_stage,
            **given,
        )
    assert message in refused.value.errors[field]
    assert prospect.stage == "offre" and plot.terr_stade_comm != RESERVED


def in_matching(session, terr_id: str) -> bool:
    return bool(
        session.scalar(
            text("SELECT count(*) FROM matching_plot WHERE terr_id = :t"), {"t": terr_id}
        )
    )


def plot_events(session, terr_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "terrain", AuditEvent.entity_id == terr_id)
            .order_by(AuditEvent.id)
        )
    )


def test_an_option_reserves_the_plot_and_the_history_names_the_project_not_the_company(
    session,
):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    before, version = plot.terr_stade_comm, plot.version
    lead = referent_of(session, METROPOLE)
    event = advance(session, lead, prospect, "option", terr_id=plot.terr_id)
    assert plot.terr_stade_comm == RESERVED and plot.version == version + 1
    assert prospect.terr_id == plot.terr_id
    assert event.details == {
        "from": "offre",
        "to": "option",
        "terr_id": plot.terr_id,
        "plot_stage_before": before,
    }
    last = plot_events(session, plot.terr_id)[-1]
    assert last.reason == f"Option posée (projet n° {prospect.id})"
    assert last.changes["terr_stade_comm"] == [before, RESERVED]
    assert last.actor_label == lead.label
    assert COMPANY not in str(last.changes) + last.reason
    assert not in_matching(session, plot.terr_id)  # no longer offered to other companies


def test_installation_after_an_option_sells_the_plot(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=plot.terr_id)
    event = advance(
        session,
        lead,
        prospect,
        "installe",
        terr_id=plot.terr_id,
        on=YESTERDAY,
        jobs_created=35,
        note="Signature chez le notaire",
    )
    assert plot.terr_stade_comm == SOLD
    assert (prospect.stage, prospect.installed_on, prospect.jobs_created) == (
        "installe",
        YESTERDAY,
        35,
    )
    assert (
        event.details["plot_stage_before"] == RESERVED and event.note == "Signature chez le notaire"
    )
    assert plot_events(session, plot.terr_id)[-1].reason == (
        f"Installation d’entreprise (projet n° {prospect.id})"
    )


def test_an_installation_marks_the_plot_occupied_in_the_same_audited_change(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    occupation_before = plot.terr_etat_occup
    assert occupation_before != cases.OCCUPIED
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "installe", terr_id=plot.terr_id, on=YESTERDAY, jobs_created=3)
    assert plot.terr_etat_occup == cases.OCCUPIED
    last = plot_events(session, plot.terr_id)[-1]
    assert last.reason == f"Installation d’entreprise (projet n° {prospect.id})"
    assert last.changes["terr_etat_occup"] == [occupation_before, cases.OCCUPIED]
    assert last.changes["terr_stade_comm"][1] == SOLD


def test_the_project_settled_on_a_plot_is_named_to_those_in_the_know_only(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    assert cases.settled_project(session, lead, plot.terr_id) is None  # not settled yet
    advance(session, lead, prospect, "installe", terr_id=plot.terr_id, on=YESTERDAY, jobs_created=3)
    assert cases.settled_project(session, lead, plot.terr_id) == prospect.id
    assert cases.settled_project(session, coordinator(session), plot.terr_id) == prospect.id
    for outsider in (partner(session), referent_of(session, third_epci(session))):
        assert cases.settled_project(session, outsider, plot.terr_id) is None


def test_installation_straight_after_an_offer_sells_a_plot_on_sale(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    advance(
        session,
        referent_of(session, METROPOLE),
        prospect,
        "installe",
        terr_id=plot.terr_id,
        on=YESTERDAY,
        jobs_created=0,
    )
    assert plot.terr_stade_comm == SOLD and prospect.jobs_created == 0


@pytest.mark.parametrize("to_stage", ["perdu", "recherche"])
def test_leaving_an_option_gives_the_plot_its_previous_stage_back(session, to_stage):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    plot.terr_stade_comm = "en vente avec contraintes"
    session.flush()
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=plot.terr_id)
    event = advance(session, lead, prospect, to_stage, **inputs_for(session, "perdu"))
    assert plot.terr_stade_comm == "en vente avec contraintes"
    assert prospect.terr_id is None and prospect.stage == to_stage
    assert event.details["released_terr_id"] == plot.terr_id
    assert event.details["plot_stage_restored"] == "en vente avec contraintes"
    assert (
        plot_events(session, plot.terr_id)[-1].reason == f"Option levée (projet n° {prospect.id})"
    )
    assert in_matching(session, plot.terr_id)
    if to_stage == "perdu":
        assert prospect.lost_reason == "Implantation choisie hors du département"


def test_a_plot_changed_by_hand_since_the_option_is_left_as_it_is(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=plot.terr_id)
    plot.terr_stade_comm = "non commercialisé"
    session.flush()
    event = advance(session, lead, prospect, "perdu", reason="Abandon du projet")
    assert plot.terr_stade_comm == "non commercialisé"
    assert event.details["plot_stage_restored"] is None


def test_installing_on_another_plot_than_the_optioned_one_releases_the_option(session):
    prospect = new_prospect(session, stage="offre")
    first, second = plots_on_sale(session, METROPOLE, 2)
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=first.terr_id)
    advance(
        session,
        lead,
        prospect,
        "installe",
        terr_id=second.terr_id,
        on=YESTERDAY,
        jobs_created=4,
    )
    assert (first.terr_stade_comm, second.terr_stade_comm) == ("en vente", SOLD)
    assert prospect.terr_id == second.terr_id


def test_an_option_on_a_plot_not_on_sale_is_refused_and_nothing_changes(session):
    prospect = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    plot.terr_stade_comm = "non commercialisé"
    session.flush()
    with pytest.raises(ValidationError, match="n’est pas en vente"):
        advance(
            session,
            referent_of(session, METROPOLE),
            prospect,
            "option",
            terr_id=plot.terr_id,
        )
    assert prospect.stage == "offre" and prospect.terr_id is None


@pytest.mark.parametrize("to_stage", ["option", "installe"])
def test_a_plot_of_another_epci_is_refused(session, to_stage):
    prospect = new_prospect(session, stage="offre")
    elsewhere = plots_on_sale(session, GATINE_RACAN)[0]
    given = {**inputs_for(session, to_stage), "terr_id": elsewhere.terr_id}
    with pytest.raises(PermissionDeniedError, match="autre EPCI"):
        advance(
            session,
            referent_of(session, METROPOLE),
            prospect,
            to_stage,
            **given,
        )
    assert elsewhere.terr_stade_comm in ("en vente", "en vente avec contraintes")
    assert prospect.stage == "offre"


def test_a_failed_step_inside_a_move_undoes_the_release_of_the_option(session):
    """option → installe on another plot that is not on sale: the first plot stays reserved."""
    prospect = new_prospect(session, stage="offre")
    first, second = plots_on_sale(session, METROPOLE, 2)
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=first.terr_id)
    second.terr_stade_comm = "non commercialisé"
    session.flush()
    with pytest.raises(ValidationError):
        advance(
            session,
            lead,
            prospect,
            "installe",
            terr_id=second.terr_id,
            on=YESTERDAY,
            jobs_created=1,
        )
    session.expire_all()
    assert session.get(Terrain, first.terr_id).terr_stade_comm == RESERVED
    assert prospect.terr_id == first.terr_id and prospect.stage == "option"


# --- one option on a plot at a time ----------------------------------------------------------


def optioned_then_put_back_on_sale(session):
    """Project P options a plot; someone puts it back « en vente » by hand in the inventory."""
    first = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    advance(session, lead, first, "option", terr_id=plot.terr_id)
    plot.terr_stade_comm = "en vente"
    session.flush()
    return first, plot, lead


@pytest.mark.parametrize("to_stage", ["option", "installe"])
def test_a_plot_another_project_holds_is_refused_even_back_on_sale(session, to_stage):
    first, plot, lead = optioned_then_put_back_on_sale(session)
    second = new_prospect(session, stage="offre")
    given = {**inputs_for(session, to_stage), "terr_id": plot.terr_id}
    with pytest.raises(ValidationError) as refused:
        advance(session, lead, second, to_stage, **given)
    assert refused.value.errors["terr_id"] == (
        f"Ce terrain est déjà sous option pour un autre projet (n° {first.id})."
    )
    session.expire_all()
    assert (second.stage, second.terr_id, plot.terr_stade_comm) == ("offre", None, "en vente")
    # The project that holds it still installs on it.
    advance(session, lead, first, "installe", terr_id=plot.terr_id, on=YESTERDAY, jobs_created=3)
    assert (first.stage, plot.terr_stade_comm) == ("installe", SOLD)


def test_a_plot_taken_between_the_check_and_the_write_is_refused_by_the_index(session, monkeypatch):
    """Two moves checked at the same instant: the partial unique index has the last word, and
    its error reads as the check's."""
    first, plot, lead = optioned_then_put_back_on_sale(session)
    second = new_prospect(session, stage="offre")
    monkeypatch.setattr(cases, "_require_nameable", lambda *_: None)
    with pytest.raises(ValidationError) as refused:
        advance(session, lead, second, "option", terr_id=plot.terr_id)
    assert refused.value.errors["terr_id"] == (
        f"Ce terrain est déjà sous option pour un autre projet (n° {first.id})."
    )
    session.expire_all()  # the move's savepoint was rolled back: nothing of it remains
    assert (second.stage, second.terr_id, plot.terr_stade_comm) == ("offre", None, "en vente")
    assert events_of(session, second) == []


def installed_then_left(session):
    """Project P installs on a plot; years later the company leaves and the plot's EPCI puts
    it back « en vente » in the inventory."""
    first = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    advance(session, lead, first, "installe", terr_id=plot.terr_id, on=YESTERDAY, jobs_created=9)
    plot.terr_stade_comm = "en vente"
    session.flush()
    return first, plot, lead


@pytest.mark.parametrize("to_stage", ["option", "installe"])
def test_a_plot_back_on_sale_after_an_installation_may_be_taken_again(session, to_stage):
    first, plot, lead = installed_then_left(session)
    second = new_prospect(session, stage="offre")
    advance(session, lead, second, to_stage, **{**inputs_for(session, to_stage),
                                                "terr_id": plot.terr_id})  # fmt: skip
    assert (second.stage, second.terr_id) == (to_stage, plot.terr_id)
    assert plot.terr_stade_comm == (RESERVED if to_stage == "option" else SOLD)
    assert (first.stage, first.terr_id) == ("installe", plot.terr_id)  # its story stays


def test_a_sold_plot_is_not_installed_on_twice(session):
    first = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    lead = referent_of(session, METROPOLE)
    advance(session, lead, first, "installe", terr_id=plot.terr_id, on=YESTERDAY, jobs_created=9)
    second = new_prospect(session, stage="offre")
    for to_stage in ("option", "installe"):
        given = {**inputs_for(session, to_stage), "terr_id": plot.terr_id}
        with pytest.raises(ValidationError, match="n’est pas en vente"):
            advance(session, lead, second, to_stage, **given)
    assert (second.stage, second.terr_id, plot.terr_stade_comm) == ("offre", None, SOLD)


def test_a_move_between_two_plots_locks_them_in_terr_id_order(session, monkeypatch):
    """Leaving an option on the later plot for the earlier one locks the earlier first: two
    projects swapping plots at once then queue up instead of deadlocking."""
    prospect = new_prospect(session, stage="offre")
    earlier, later = plots_on_sale(session, METROPOLE, 2)
    assert earlier.terr_id < later.terr_id
    lead = referent_of(session, METROPOLE)
    advance(session, lead, prospect, "option", terr_id=later.terr_id)
    locked: list[str] = []
    real_locked_row = cases.locked_row

    def spy(session, model, key):
        if model is Terrain:
            locked.append(key)
        return real_locked_row(session, model, key)

    monkeypatch.setattr(cases, "locked_row", spy)
    advance(session, lead, prospect, "installe", terr_id=earlier.terr_id, on=YESTERDAY,
            jobs_created=2)  # fmt: skip
    assert locked[:2] == [earlier.terr_id, later.terr_id]
    assert (earlier.terr_stade_comm, later.terr_stade_comm) == (SOLD, "en vente")
