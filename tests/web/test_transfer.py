"""The imports and exports page: upload, preview (nothing written), confirmation by the uploader
only, and downloads of the network, an EPCI or a park."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from import_files import LES_ATLANTES, NEW_PLOT, POLAXIS, polaxis_plots_file
from openpyxl import load_workbook
from sqlalchemy import func, select, text, update
from web_helpers import (
    TEST_CONFIG,
    csrf_token_of,
    form_of,
    form_values,
    page_of,
    post_form,
    sign_in,
    visible_text,
)

from foncier.core.errors import ConfigurationError, ImportConflictError, ValidationError
from foncier.core.permissions import Actor
from foncier.inventory import staged_imports
from foncier.inventory.cnig import SourceFile, export_cnig
from foncier.models import AuditEvent, Epci, PendingImportFile, Site, Terrain, User
from foncier.web import create_app, settings
from seed.accounts import COORDINATOR_EMAIL, referent_email

GATINE_RACAN = "200073237"
INDEX = "/imports-exports"
CONFIRM_FORM = "confirmer-import"


@pytest.fixture
def referent_email_gatine(session) -> str:
    return referent_email(session.get_one(Epci, GATINE_RACAN))


@pytest.fixture
def referent(client_for, referent_email_gatine):
    return client_for(referent_email_gatine)


@pytest.fixture
def coordinator(client_for):
    return client_for(COORDINATOR_EMAIL)


def inventory_state(session) -> tuple[str, int]:
    """A digest of every park and plot row, and the number of audit events."""
    digest = session.execute(
        text(
            "SELECT md5(concat("
            " (SELECT string_agg(s::text, '|' ORDER BY s.site_id) FROM site s),"
            " (SELECT string_agg(t::text, '|' ORDER BY t.terr_id) FROM terrain t)))"
        )
    ).scalar_one()
    return digest, session.scalar(select(func.count()).select_from(AuditEvent))


def upload(client, *files: tuple[str, bytes]):
    token = csrf_token_of(client, INDEX)
    data = {
        "csrf_token": token,
        "fichiers": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post(f"{INDEX}/import", data=data, content_type="multipart/form-data")


def staged(client, *files: tuple[str, bytes]) -> str:
    """Upload ``files``; the preview's URL."""
    response = upload(client, *files)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


# --- the page -------------------------------------------------------------------------------


def test_a_referent_sees_the_import_form_and_their_scope(get_page, referent):
    page = get_page(INDEX, through=referent)
    assert page.status == 200
    assert "Vérifier les fichiers" in page.text
    assert (
        "importer que les parcs et terrains de votre EPCI (Communauté de communes de Gâtine-Racan)"
        in page.text
    )
    assert 'enctype="multipart/form-data"' in page.html
    assert page.values("data-export") == ["csv", "geojson", "xlsx"]


def test_a_partner_exports_but_cannot_import(get_page, client):
    page = get_page(INDEX)
    assert "pas d’en importer" in page.text
    assert "Vérifier les fichiers" not in page.text
    assert "données confidentielles" not in page.text
    assert page.values("data-export") == ["csv", "geojson", "xlsx"]
    token = csrf_token_of(client, "/sites")  # any page's token
    refused = client.post(
        f"{INDEX}/import",
        data={"csrf_token": token, "fichiers": [(io.BytesIO(b"x"), "t.csv")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403


def test_uploading_nothing_or_another_kind_of_file_is_refused(referent):
    nothing = upload(referent)
    assert nothing.status_code == 400
    assert "Choisissez au moins un fichier." in visible_text(nothing.get_data(as_text=True))
    shapefile = upload(referent, ("parcs.shp", b"\x00\x00'\n"))
    assert shapefile.status_code == 400
    assert "Seuls les fichiers CSV, GeoJSON" in visible_text(shapefile.get_data(as_text=True))


class UnreadBody(io.RawIOBase):
    """A request body of ``size`` bytes made only as it is read, counting what was read and
    the largest read (seekable, as the test client measures a body by seeking to its end)."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.read_bytes, self.largest_read = size, 0, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset + (self.size if whence == io.SEEK_END else 0)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.position)
        self.largest_read = max(self.largest_read, count)
        buffer[:count] = b"-" * count
        self.position += count
        self.read_bytes += count
        return count


def post_body(client, url: str, body: UnreadBody, content_type: str):
    return client.post(url, input_stream=body, content_length=body.size, content_type=content_type)


def pending_files(session) -> int:
    return session.scalar(select(func.count()).select_from(PendingImportFile))


def test_uploads_above_the_configured_limit_are_refused_with_a_french_message(
    session, session_factory, referent_email_gatine
):
    config = {**TEST_CONFIG, "TESTING": True, "SESSION_FACTORY": session_factory}
    app = create_app({**config, "MAX_CONTENT_LENGTH": 2**20})
    client = sign_in(app.test_client(), session, referent_email_gatine)
    response = upload(client, ("terrain-eco.csv", b"terr_id;\r\n" * 120_000))
    assert response.status_code == 303
    page = visible_text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Les fichiers dépassent 1 Mo : déposez-les en plusieurs fois" in page
    assert "avec la commande « foncier import cnig »" in page
    assert pending_files(session) == 0


@pytest.mark.parametrize("value", ["0", "huge", "257"])
def test_an_upload_limit_that_makes_no_sense_stops_the_platform(monkeypatch, value):
    monkeypatch.setenv("FONCIER_MAX_UPLOAD_MB", value)
    with pytest.raises(ConfigurationError, match="FONCIER_MAX_UPLOAD_MB"):
        settings.from_environment()
    monkeypatch.setenv("FONCIER_MAX_UPLOAD_MB", "5")
    assert settings.from_environment()["MAX_CONTENT_LENGTH"] == 5 * 2**20


def test_the_default_limit_refuses_a_body_just_above_it_without_keeping_it(
    session, referent, coordinator
):
    """32 MB by default (FONCIER_MAX_UPLOAD_MB): Flask's own default is no limit at all, and a
    210 MB file used to be staged, then its preview killed the worker. The refused body is
    read through and dropped a megabyte at a time, so that the browser, still sending, gets
    the answer (tests/web/test_server.py shows it with gunicorn)."""
    just_above = settings.DEFAULT_MAX_UPLOAD_MB * 2**20 + 1
    multipart = "multipart/form-data; boundary=limite"

    def read_through_and_dropped(body: UnreadBody) -> bool:
        return body.read_bytes == just_above and body.largest_read <= 2**20

    body = UnreadBody(just_above)
    refused = post_body(referent, f"{INDEX}/import", body, multipart)
    assert refused.status_code == 303 and read_through_and_dropped(body)
    page = visible_text(referent.get(refused.headers["Location"]).get_data(as_text=True))
    assert "Les fichiers dépassent 32 Mo" in page
    assert pending_files(session) == 0

    # Any other page: the French error page; the API: JSON.
    body = UnreadBody(just_above)
    other = post_body(coordinator, "/comptes/nouveau", body, multipart)
    assert other.status_code == 413 and read_through_and_dropped(body)
    assert "Envoi trop volumineux" in visible_text(other.get_data(as_text=True))
    body = UnreadBody(just_above)
    api = post_body(coordinator, "/api/match", body, "application/json")
    assert api.status_code == 413 and read_through_and_dropped(body)
    assert api.json["code"] == "Request Entity Too Large"


# --- what one account may have waiting --------------------------------------------------------


def actor_of(session, email: str) -> Actor:
    return Actor.of(session.scalars(select(User).where(User.email == email)).one())


def test_an_account_may_have_three_imports_waiting_then_is_told_to_finish_them(
    session, get_page, referent, tmp_path
):
    name, content, _repriced = polaxis_plots_file(session, tmp_path)
    previews = [
        staged(referent, (name, content)) for _ in range(staged_imports.MAX_PENDING_BATCHES)
    ]

    refused = upload(referent, (name, content))

    assert refused.status_code == 409
    page = page_of(refused)
    assert "Vous avez déjà 3 imports en attente : confirmez-les ou abandonnez-les" in page.text
    # The page lists them, each leading to its preview, where it can be confirmed or abandoned.
    assert page.values("data-pending") == [url.rsplit("/", 1)[1] for url in previews]
    assert all(f'href="{url}"' in page.html for url in previews)
    post_form(referent, f"{previews[0]}/abandonner", form_page=previews[0])
    assert upload(referent, (name, content)).status_code == 303


def test_the_bytes_an_account_has_waiting_are_bounded_in_the_core(
    session, referent_email_gatine, monkeypatch
):
    actor = actor_of(session, referent_email_gatine)
    monkeypatch.setattr(staged_imports, "MAX_PENDING_BYTES", 2 * 2**20)
    with pytest.raises(ValidationError, match="Ces fichiers dépassent 2 Mo : déposez-les en"):
        staged_imports.stage_import(session, actor, [SourceFile("big.csv", b"x" * (2 * 2**20 + 1))])
    monkeypatch.setattr(staged_imports, "MAX_PENDING_BYTES", 1000)
    staged_imports.stage_import(session, actor, [SourceFile("a.csv", b"x" * 600)])
    with pytest.raises(ValidationError, match="dépasseraient 0 Mo : confirmez ou abandonnez"):
        staged_imports.stage_import(session, actor, [SourceFile("b.csv", b"x" * 401)])
    staged_imports.stage_import(session, actor, [SourceFile("c.csv", b"x" * 400)])
    assert [
        len(waiting.filenames) for waiting in staged_imports.pending_imports(session, actor)
    ] == [1, 1]


# --- preview and confirmation ---------------------------------------------------------------


def test_the_preview_lists_creations_and_updates_and_writes_nothing(
    session, get_page, referent, tmp_path
):
    name, content, repriced = polaxis_plots_file(session, tmp_path)
    before = inventory_state(session)

    preview_url = staged(referent, (name, content))
    page = get_page(preview_url, through=referent)

    assert page.status == 200
    assert "Rien n’a encore été enregistré." in page.text
    assert dict(zip(page.values("data-key"), page.values("data-outcome"), strict=True)) == {
        repriced["terr_id"]: "updated",
        NEW_PLOT: "created",
    }
    assert "1 création, 1 modification," in page.text
    assert "Prix" in page.text  # the changed field, by its French label
    assert "Confirmer l’import" in page.text
    session.expire_all()
    assert inventory_state(session) == before
    assert session.get(Terrain, NEW_PLOT) is None


def test_the_preview_lists_every_error_with_its_row_and_column(
    session, get_page, referent, tmp_path
):
    export_cnig(session, tmp_path, site=LES_ATLANTES)
    content = (tmp_path / "terrain-eco.csv").read_bytes()
    page = get_page(staged(referent, ("atlantes.csv", content)), through=referent)
    assert page.status == 200
    plots = session.scalar(select(func.count()).where(Terrain.site_id == LES_ATLANTES))
    assert page.values("data-issue-code") == ["epci_scope"] * plots
    assert "L’import est refusé" in page.text
    assert "ligne 2 site_id " + LES_ATLANTES in page.text
    assert "Vous ne pouvez importer que les parcs et terrains de votre EPCI" in page.text
    assert "Confirmer l’import" not in page.text


def test_a_file_beyond_the_rows_a_preview_checks_is_refused_and_sent_to_the_cli(
    session, get_page, referent, tmp_path, monkeypatch
):
    name, content, _repriced = polaxis_plots_file(session, tmp_path)
    rows = content.count(b"\r\n") - 1
    monkeypatch.setattr(staged_imports, "MAX_ROWS_PER_FILE", rows - 1)
    page = get_page(staged(referent, (name, content)), through=referent)
    assert page.status == 200
    assert page.values("data-issue-code") == ["too_many_rows"]
    assert f"Le fichier compte plus de {rows - 1} lignes ou entités" in page.text
    assert "« foncier import cnig »" in page.text
    assert "Confirmer l’import" not in page.text


def test_confirming_writes_the_import_with_its_audit_trail(
    session, get_page, referent, referent_email_gatine, tmp_path
):
    name, content, repriced = polaxis_plots_file(session, tmp_path)
    preview_url = staged(referent, (name, content))

    confirm = form_of(referent, preview_url, CONFIRM_FORM)
    confirmed = referent.post(f"{preview_url}/confirmer", data=confirm)

    assert confirmed.status_code == 303
    assert confirmed.headers["Location"].endswith(INDEX)
    index = get_page(INDEX, through=referent)
    assert "Import enregistré — terrains : 1 créé(s), 1 modifié(s)" in index.text
    session.expire_all()
    assert str(session.get_one(Terrain, repriced["terr_id"]).terr_m2_prix) == "33.30"
    assert session.get(Terrain, NEW_PLOT) is not None
    events = session.scalars(select(AuditEvent).where(AuditEvent.reason == f"Import {name}")).all()
    assert {(event.entity_id, event.action) for event in events} == {
        (repriced["terr_id"], "update"),
        (NEW_PLOT, "create"),
    }
    assert {event.actor_label for event in events} == {referent_email_gatine}
    batch = preview_url.rsplit("/", 1)[1]
    assert session.scalar(select(func.count()).where(PendingImportFile.batch == batch)) == 0


def test_a_change_made_after_the_preview_refuses_the_confirmation(session, referent, tmp_path):
    """The preview says the file leaves Polaxis's plots as they are; then someone changes a
    price. Confirming must not silently put the file's price back: it is refused (409) with
    the preview as it now stands, which can then be confirmed knowingly."""
    export_cnig(session, tmp_path, site=POLAXIS, confidential=True)
    content = (tmp_path / "terrain-eco.csv").read_bytes()
    preview_url = staged(referent, ("terrain-eco.csv", content))
    preview = referent.get(preview_url).get_data(as_text=True)
    assert "0 création, 0 modification," in visible_text(preview)
    plot = session.scalars(
        select(Terrain).where(Terrain.site_id == POLAXIS).order_by(Terrain.terr_id)
    ).first()
    price_in_file = plot.terr_m2_prix
    plot.terr_m2_prix = Decimal("44.40")
    session.flush()

    refused = referent.post(f"{preview_url}/confirmer", data=form_values(preview, CONFIRM_FORM))

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "ont été modifiés depuis l’aperçu : rien n’a été enregistré" in visible_text(page)
    assert f'data-key="{plot.terr_id}" data-outcome="updated"' in page
    session.expire_all()
    assert session.get_one(Terrain, plot.terr_id).terr_m2_prix == Decimal("44.40")

    confirmed = referent.post(f"{preview_url}/confirmer", data=form_values(page, CONFIRM_FORM))
    assert confirmed.status_code == 303
    session.expire_all()
    assert session.get_one(Terrain, plot.terr_id).terr_m2_prix == price_in_file


def test_a_save_racing_the_confirmation_refuses_it_and_writes_nothing(
    session, referent_email_gatine, tmp_path
):
    """Someone commits a plot between the confirmation's read and its write: the UPDATE's
    version check fails, and that is the same refusal, with nothing written."""
    user = session.scalars(select(User).where(User.email == referent_email_gatine)).one()
    actor = Actor.of(user)
    name, content, repriced = polaxis_plots_file(session, tmp_path)
    batch = staged_imports.stage_import(session, actor, [SourceFile(name, content)])
    preview = staged_imports.preview_import(session, actor, batch)
    # The copies the confirmation reads, taken before someone else's commit.
    plots = session.scalars(select(Terrain).where(Terrain.site_id == POLAXIS)).all()
    session.execute(
        text("UPDATE terrain SET version = version + 1, terr_m2_prix = 99 WHERE terr_id = :id"),
        {"id": repriced["terr_id"]},
    )

    with pytest.raises(ImportConflictError, match="depuis l’aperçu"):
        staged_imports.confirm_import(session, actor, batch, preview.fingerprint)

    assert plots and session.get(Terrain, NEW_PLOT) is None
    assert session.get_one(Terrain, repriced["terr_id"]).terr_m2_prix == Decimal("99")
    assert staged_imports.preview_import(session, actor, batch).fingerprint != preview.fingerprint


def test_only_the_uploader_can_see_and_confirm_an_import(
    session, get_page, referent, coordinator, tmp_path
):
    name, content, _repriced = polaxis_plots_file(session, tmp_path)
    preview_url = staged(referent, (name, content))
    before = inventory_state(session)

    assert get_page(preview_url, through=coordinator).status == 403
    token = csrf_token_of(coordinator, INDEX)
    for action in ("confirmer", "abandonner"):
        response = coordinator.post(f"{preview_url}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    session.expire_all()
    assert inventory_state(session) == before
    assert get_page(preview_url, through=referent).status == 200  # still there for its owner


def test_abandoning_forgets_the_files(session, get_page, referent, tmp_path):
    name, content, _repriced = polaxis_plots_file(session, tmp_path)
    preview_url = staged(referent, (name, content))
    response = post_form(referent, f"{preview_url}/abandonner", form_page=preview_url)
    assert response.status_code == 303
    assert get_page(preview_url, through=referent).status == 404


def test_pending_imports_are_purged_after_a_day(session, referent_email_gatine):
    user = session.scalars(select(User).where(User.email == referent_email_gatine)).one()
    actor = Actor.of(user)
    old = staged_imports.stage_import(session, actor, [SourceFile("a.csv", b"site_id\r\n")])
    session.execute(
        update(PendingImportFile)
        .where(PendingImportFile.batch == old)
        .values(created_at=datetime.now(UTC) - timedelta(days=1, minutes=1))
    )
    fresh = staged_imports.stage_import(session, actor, [SourceFile("b.csv", b"site_id\r\n")])
    batches = set(session.scalars(select(PendingImportFile.batch)))
    assert fresh in batches and old not in batches


# --- exports --------------------------------------------------------------------------------


def test_downloading_the_network_as_cnig_csv(client):
    response = client.get(f"{INDEX}/export?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "inventaire-reseau-" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == ["site-eco.csv", "terrain-eco.csv"]


def test_downloading_one_epci_as_excel_and_one_park_as_geojson(client):
    by_epci = client.get(f"{INDEX}/export?perimetre=epci&epci={GATINE_RACAN}&format=xlsx")
    assert by_epci.status_code == 200
    parks = load_workbook(io.BytesIO(by_epci.data))["Parcs"]
    sirens = {row[0].value for row in parks.iter_rows(min_row=2, min_col=18, max_col=18)}
    assert sirens == {GATINE_RACAN}

    by_park = client.get(f"{INDEX}/export?perimetre=parc&site={POLAXIS}&format=geojson")
    assert by_park.status_code == 200
    with zipfile.ZipFile(io.BytesIO(by_park.data)) as archive:
        assert b'"id": "' + POLAXIS.encode() + b'"' in archive.read("site-eco.geojson")


def test_a_partner_never_downloads_private_fields(client, session):
    response = client.get(f"{INDEX}/export?format=csv&confidentiel=y")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        text = archive.read("terrain-eco.csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows and not any(row["terr_acquereur"] for row in rows)


def test_a_referent_downloads_only_their_epcis_private_fields(referent, session):
    response = referent.get(f"{INDEX}/export?format=csv&confidentiel=y")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        rows = list(
            csv.DictReader(io.StringIO(archive.read("terrain-eco.csv").decode()), delimiter=";")
        )
    sold = {row["site_id"] for row in rows if row["terr_acquereur"]}
    gatine_parks = set(
        session.scalars(select(Site.site_id).where(Site.site_epci_siren == GATINE_RACAN))
    )
    assert sold and sold <= gatine_parks


def test_bad_export_requests(client):
    assert client.get(f"{INDEX}/export?format=pdf").status_code == 400
    missing = client.get(f"{INDEX}/export?perimetre=parc&format=csv")
    assert missing.status_code == 400
    assert "Choisissez un parc." in visible_text(missing.get_data(as_text=True))
    assert (
        client.get(
            f"{INDEX}/export?perimetre=parc&site=37167_SITE-ECO_99999&format=csv"
        ).status_code
        == 404
    )
