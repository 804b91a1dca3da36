"""Every write route × every role, own and other EPCI: who may write, and refusals write nothing.

A refused request must answer 403 (a redirect to the sign-in page for an anonymous visitor)
AND leave the database as it was: the park, the plot, its owner, the counts of records and the
audit trail are compared before and after. Each request carries a valid CSRF token of its own
session and values a permitted person would send, so that only the permission can refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely import box
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from web_helpers import csrf_token_of, form_of

from foncier.inventory.geometry_input import geojson_wgs84_text
from foncier.models import Commune, Owner, Terrain
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL

POLAXIS = "37167_SITE-ECO_00005"
ROLES = {
    "referent-own": "referent.gatine-racan@demo.foncier.test",
    "referent-other": "referent.tours-metropole-val-de-loire@demo.foncier.test",
    "coordinator": COORDINATOR_EMAIL,
    "partner": PARTNER_EMAIL,
    "anonymous": None,
}
ALLOWED = {"referent-own", "coordinator"}


@dataclass(frozen=True)
class Target:
    """The records the routes act on: a plot of Polaxis on sale, and one of its owners."""

    terr_id: str
    owner_id: int


@dataclass(frozen=True)
class WriteRoute:
    name: str
    # (url, form page to read a permitted person's values from, form id, values to change)
    request: Callable[[Session, Target], tuple[str, str, str, dict[str, str]]]
    # Whether the write happened.
    done: Callable[[Session, Target], bool]


def _plot_outline(session: Session, target: Target) -> str:
    plot = session.get(Terrain, target.terr_id)
    return geojson_wgs84_text(to_shape(plot.terr_geomsurf).buffer(-8, join_style="mitre"))


def _park_perimeter(session: Session) -> str:
    centre = to_shape(session.get(Commune, "37167").geom).representative_point()
    return geojson_wgs84_text(box(centre.x - 120, centre.y - 120, centre.x + 120, centre.y + 120))


def _scalar(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).scalar()


ROUTES = [
    WriteRoute(
        "create_site",
        lambda s, t: ("/sites/nouveau", "/sites/nouveau", "formulaire-parc", {
            "site_nom": "Parc de la matrice", "site_comm_insee": "37167",
            "site_type": "zone d'activité économique", "site_vocadomi": "mixte",
            "site_etat": "en projet", "site_surf_brute": "5,76", "site_surf_utile": "5",
            "site_moa_type": "epci", "site_geomsurf": _park_perimeter(s)}),
        lambda s, t: bool(_scalar(s, "SELECT 1 FROM site WHERE site_nom = 'Parc de la matrice'")),
    ),
    WriteRoute(
        "edit_site",
        lambda s, t: (f"/sites/{POLAXIS}/modifier", f"/sites/{POLAXIS}/modifier",
                      "formulaire-parc", {"site_nom": "Polaxis matrice"}),
        lambda s, t: _scalar(s, "SELECT site_nom FROM site WHERE site_id = :id", id=POLAXIS)
        == "Polaxis matrice",
    ),
    WriteRoute(
        "create_terrain",
        lambda s, t: (f"/sites/{POLAXIS}/terrains/nouveau", f"/sites/{POLAXIS}/terrains/nouveau",
                      "formulaire-terrain", {
            "terr_surf_brute": "1", "terr_stade_comm": "en vente", "terr_m2_prix": "77,77",
            "terr_stade_amngt": "viabilisé et aménagé", "terr_maitrise_fonc": "commune",
            "terr_etat_occup": "inoccupé", "terr_usage": "sans objet",
            "terr_geomsurf": _plot_outline(s, t)}),
        lambda s, t: bool(_scalar(s, "SELECT count(*) FROM terrain WHERE terr_m2_prix = 77.77")),
    ),
    WriteRoute(
        "edit_terrain",
        lambda s, t: (f"/terrains/{t.terr_id}/modifier", f"/terrains/{t.terr_id}/modifier",
                      "formulaire-terrain", {"terr_m2_prix": "66,66"}),
        lambda s, t: _scalar(s, "SELECT terr_m2_prix FROM terrain WHERE terr_id = :id",
                             id=t.terr_id) == Decimal("66.66"),
    ),
    WriteRoute(
        "change_status",
        lambda s, t: (f"/terrains/{t.terr_id}/statut",
                      f"/terrains/{t.terr_id}/statut?action=retrait", "confirmation-statut", {}),
        lambda s, t: _scalar(s, "SELECT terr_stade_comm FROM terrain WHERE terr_id = :id",
                             id=t.terr_id) == "non commercialisé",
    ),
    WriteRoute(
        "add_owner",
        lambda s, t: (f"/terrains/{t.terr_id}/proprietaires/nouveau",
                      f"/terrains/{t.terr_id}/proprietaires/nouveau", "formulaire-proprietaire",
                      {"nom": "SCI de la Matrice", "nature": "personne morale"}),
        lambda s, t: bool(_scalar(s, "SELECT count(*) FROM owner WHERE nom = 'SCI de la Matrice'")),
    ),
    WriteRoute(
        "edit_owner",
        lambda s, t: (f"/proprietaires/{t.owner_id}/modifier",
                      f"/proprietaires/{t.owner_id}/modifier", "formulaire-proprietaire",
                      {"adresse": "1 rue de la Matrice"}),
        lambda s, t: _scalar(s, "SELECT adresse FROM owner WHERE id = :id", id=t.owner_id)
        == "1 rue de la Matrice",
    ),
    WriteRoute(
        "remove_owner",
        lambda s, t: (f"/proprietaires/{t.owner_id}/supprimer",
                      f"/proprietaires/{t.owner_id}/supprimer", "confirmation-retrait", {}),
        lambda s, t: not _scalar(s, "SELECT count(*) FROM owner WHERE id = :id", id=t.owner_id),
    ),
]  # fmt: skip


@pytest.fixture
def target(session: Session) -> Target:
    terrain = session.scalars(
        select(Terrain)
        .join(Owner)
        .where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == "en vente")
        .order_by(Terrain.terr_id)
    ).first()
    return Target(terrain.terr_id, terrain.owners[0].id)


def snapshot(session: Session, target: Target) -> tuple[Any, ...]:
    """The records the routes touch, whole, and how many of each kind there are."""
    session.expire_all()
    rows = [
        ("SELECT to_jsonb(s)::text FROM site s WHERE site_id = :id", {"id": POLAXIS}),
        ("SELECT to_jsonb(t)::text FROM terrain t WHERE terr_id = :id", {"id": target.terr_id}),
        ("SELECT to_jsonb(o)::text FROM owner o WHERE id = :id", {"id": target.owner_id}),
        ("SELECT (SELECT count(*) FROM site), (SELECT count(*) FROM terrain), "
         "(SELECT count(*) FROM owner), (SELECT count(*) FROM audit_event), "
         "(SELECT max(id) FROM audit_event)", {}),
    ]  # fmt: skip
    return tuple(tuple(session.execute(text(sql), params).one()) for sql, params in rows)


def client_as(role: str, app, client_for) -> FlaskClient:
    email = ROLES[role]
    return client_for(email) if email else app.test_client()


def permitted_values(client_for, route: WriteRoute, session: Session, target: Target):
    """The URL and the values a permitted person (the coordinator) would post."""
    url, form_page, form_id, changes = route.request(session, target)
    values = form_of(client_for(COORDINATOR_EMAIL), form_page, form_id) | changes
    if route.name == "change_status":
        values["action"] = "retrait"
    return url, values


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_each_write_route_for_each_role(app, client_for, session, target, route, role):
    url, values = permitted_values(client_for, route, session, target)
    client = client_as(role, app, client_for)
    # The request's own CSRF token: a missing token must not be what refuses it.
    values["csrf_token"] = csrf_token_of(client, "/connexion" if role == "anonymous" else "/sites")
    before = snapshot(session, target)
    response = client.post(url, data=values)
    if role in ALLOWED:
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        assert route.done(session, target)
        return
    if role == "anonymous":
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    else:
        assert response.status_code == 403
        assert "Accès refusé" in response.get_data(as_text=True)
    assert snapshot(session, target) == before
    assert not route.done(session, target)


# A referent of another EPCI may open the new-park form: for a park of their own EPCI.
REFUSED_FORMS = [
    pytest.param(route, role, id=f"{route.name}-{role}")
    for route in ROUTES
    for role in ("referent-other", "partner", "anonymous")
    if not (route.name == "create_site" and role == "referent-other")
]


@pytest.mark.parametrize("route, role", REFUSED_FORMS)
def test_the_forms_of_refused_writes_are_not_even_shown(
    app, client_for, session, target, route, role
):
    _, form_page, _, _ = route.request(session, target)
    response = client_as(role, app, client_for).get(form_page)
    if role == "anonymous":
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    else:
        assert response.status_code == 403
        assert "Accès refusé" in response.get_data(as_text=True)
