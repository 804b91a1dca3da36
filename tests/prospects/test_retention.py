"""Contacts past their retention date are erased, from the project and from its history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete
from sqlalchemy.orm import Session

from foncier.cli import main
from foncier.core import audit
from foncier.core.errors import PermissionDeniedError
from foncier.core.permissions import Actor, Role
from foncier.models import AuditEvent, Prospect
from foncier.prospects import retention

METROPOLE = "243700754"
TODAY = date(2026, 11, 25)
EMAIL = "j.dupont@exemple.test"


def _project(session, retention_until: date, **contact: str) -> Prospect:
    prospect = Prospect(
        origin_epci_siren=METROPOLE,
        lead_epci_siren=METROPOLE,
        company_name="Société Exemple",
        contact_name="Jeanne Dupont",
        contact_email=EMAIL,
        contact_retention_until=retention_until,
        needs={},
        source="direct",
        **contact,
    )
    session.add(prospect)
    session.flush()
    return prospect


def _history(session, prospect) -> list[dict]:
    return [
        event.changes
        for event in session.scalars(
            audit.entity_history("prospect", prospect.id).where(AuditEvent.action != "delete")
        )
    ]


def test_an_expired_contact_is_erased_and_its_history_scrubbed(session):
    expired = _project(session, TODAY - timedelta(days=1), contact_phone="02 47 00 00 00")
    expired.contact_email = "jeanne.dupont@exemple.test"  # a change: before and after kept
    session.flush()
    kept = _project(session, TODAY)
    erased = retention.erase_expired_contacts(session, Actor.system("tests"), TODAY)
    assert erased == [expired]
    assert (expired.contact_name, expired.contact_email, expired.contact_phone) == (None,) * 3
    assert expired.contact_retention_until is None
    assert expired.company_name == "Société Exemple"  # the project stays
    assert kept.contact_email == EMAIL  # its date is today: not yet expired
    history = _history(session, expired)
    assert len(history) == 3  # created, changed, erased: the erasure stays on record
    text = repr(history)
    assert "dupont" not in text.lower() and "02 47" not in text
    assert history[-1]["contact_email"] == [retention.ERASED, None]
    assert EMAIL in repr(_history(session, kept))


def test_erasing_is_for_the_coordinator_and_operators(session):
    _project(session, TODAY - timedelta(days=1))
    referent = Actor("r@exemple.test", Role.REFERENT, epci_siren=METROPOLE)
    with pytest.raises(PermissionDeniedError):
        retention.erase_expired_contacts(session, referent, TODAY)
    coordinator = Actor("c@exemple.test", Role.COORDINATEUR)
    assert len(retention.erase_expired_contacts(session, coordinator, TODAY)) >= 1


def test_the_command_lists_then_erases(database_url, engine):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    with Session(engine) as session:
        audit.acting_as(session, Actor.system("tests"))
        prospect = _project(session, date.today() - timedelta(days=3))
        session.commit()
        prospect_id = prospect.id
    try:
        dry = runner.invoke(main, ["prospects", "erase-expired-contacts", "--dry-run"], env=env)
        assert dry.exit_code == 0 and str(prospect_id) in dry.output and "would be" in dry.output
        with Session(engine) as session:
            assert session.get(Prospect, prospect_id).contact_email == EMAIL
        done = runner.invoke(main, ["prospects", "erase-expired-contacts"], env=env)
        assert done.exit_code == 0 and str(prospect_id) in done.output
        with Session(engine) as session:
            assert session.get(Prospect, prospect_id).contact_email is None
    finally:  # the command committed: leave the shared database as it was
        with Session(engine) as session:
            session.execute(
                delete(AuditEvent).where(
                    AuditEvent.entity_type == "prospect", AuditEvent.entity_id == str(prospect_id)
                )
            )
            session.execute(delete(Prospect).where(Prospect.id == prospect_id))
            session.commit()
