"""The Touraine demonstration inventory, built deterministically from real park facts.

The parks, their EPCI, commune, estimated position, vocation, known areas and prices come from
touraine_business_parks.csv (public sources). Everything else (perimeters, plots, stages,
prices where unknown, networks, power, ICPE limits, owners) is illustrative, generated with
random generators seeded by the park and plot ids: the same run gives the same inventory.
Every record is flagged ``is_demo``.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import FoncierError
from foncier.inventory.cnig.geometry import as_multipolygon
from foncier.models import AuditEvent, Commune, ConstraintZone, Epci, Owner, Site, Terrain
from foncier.models.codelists import STADES_DISPONIBLES
from seed import geometry
from seed.accounts import delete_demo_accounts, seed_demo_accounts
from seed.cases import delete_demo_cases, seed_demo_cases
from seed.geometry import Perimeter, lambert93

PARKS_CSV = Path(__file__).with_name("touraine_business_parks.csv")
DEMO_SOURCE = "foncier — données de démonstration (illustratives)"
FLOOD_ZONE_SOURCE = "demo-loire"
# The demo's own "today", fixed so that generated dates never depend on when it runs.
REFERENCE_DATE = date(2026, 9, 1)
IDENTIFIED_ON = date(2023, 3, 15)
METROPOLE_SIREN = "243700754"

DEFAULT_AREA_HA = {
    "entrepôts, logistique": 60.0,
    "industrielle": 40.0,
    "mixte": 30.0,
    "artisanale": 10.0,
    "tertiaire": 15.0,
}

# Parks given a rail siding (ITE) in the demo: along the Paris, Le Mans, Saumur and Bordeaux
# lines.
RAIL_PARKS = {"P01", "P05", "P10", "P13", "P19", "P21", "P23"}
LAND_RESERVES = {"P14"}
BROWNFIELDS = {"P27"}
AGEING_PARKS = {"P17", "P18", "P21"}
TURNKEY_PARKS = {"P07"}

# Approximate motorway interchanges of Touraine (illustrative positions), to derive distances.
INTERCHANGES = (
    ("A10", "Sorigny", 47.262, 0.695),
    ("A10", "Chambray-lès-Tours", 47.318, 0.703),
    ("A10", "Tours-Centre", 47.385, 0.715),
    ("A10", "Parçay-Meslay", 47.440, 0.730),
    ("A10", "Château-Renault", 47.510, 0.985),
    ("A10", "Sainte-Maure-de-Touraine", 47.115, 0.635),
    ("A28", "Neuillé-Pont-Pierre", 47.545, 0.565),
    ("A28", "Saint-Antoine-du-Rocher", 47.475, 0.660),
    ("A85", "Langeais", 47.315, 0.430),
    ("A85", "Bléré", 47.275, 1.000),
    ("A85", "Joué-lès-Tours", 47.335, 0.640),
    ("A85", "Bourgueil", 47.260, 0.215),
)
AIRPORT = ("Tours Val de Loire", 47.432, 0.728)
# Roads are longer than straight lines; a usual detour factor for rural France.
ROAD_DETOUR = 1.3

# An illustrative Loire flood zone: the river's course across the département, widened, plus
# the "Val de Tours" between Loire and Cher. Not the official PPRI.
LOIRE_COURSE = (
    (0.070, 47.210), (0.150, 47.232), (0.230, 47.262), (0.300, 47.285), (0.370, 47.310),
    (0.420, 47.330), (0.480, 47.350), (0.550, 47.378), (0.610, 47.395), (0.690, 47.400),
    (0.760, 47.398), (0.830, 47.392), (0.900, 47.400), (0.985, 47.415), (1.060, 47.430),
)  # fmt: skip
VAL_DE_TOURS = (
    (0.660, 47.385), (0.700, 47.378), (0.740, 47.372), (0.800, 47.380), (0.800, 47.396),
    (0.660, 47.401),
)  # fmt: skip
LOIRE_HALF_WIDTH_M = 700.0

COMPANY_WORDS = ("Logistique", "Ateliers", "Menuiserie", "Transports", "Imprimerie",
                 "Plasturgie", "Métallerie", "Conserverie", "Électronique")  # fmt: skip
COMPANY_PLACES = ("du Val", "de Loire", "Touraine", "du Cher", "de l'Indre", "de la Brenne",
                  "du Lochois", "de Gâtine", "du Véron", "de l'Amboisie")  # fmt: skip


class DemoDataError(FoncierError):
    """The demo inventory cannot be built (territory not loaded, a park outside its EPCI)."""


@dataclass(frozen=True)
class ParkFacts:
    id: str
    name: str
    epci_siren: str
    commune_insee: str
    lat: float
    lon: float
    area_ha: float | None
    available_ha: float | None
    vocation: str
    motorway: str
    price_range: tuple[float, float] | None
    creation_year: int | None
    firms: int | None
    jobs: int | None
    description: str
    source: str

    @property
    def number(self) -> int:
        return int(self.id[1:])


def _optional_float(cell: str) -> float | None:
    return float(cell) if cell.strip() else None


def _optional_int(cell: str) -> int | None:
    return int(cell) if cell.strip() else None


def _price_range(cell: str) -> tuple[float, float] | None:
    if not cell.strip():
        return None
    low, _, high = cell.partition("-")
    return float(low), float(high or low)


def read_parks(path: Path = PARKS_CSV) -> list[ParkFacts]:
    with path.open(encoding="utf-8", newline="") as stream:
        return [
            ParkFacts(
                id=row["id"],
                name=row["name"],
                epci_siren=row["epci_siren"],
                commune_insee=row["commune_insee"],
                lat=float(row["lat_est"]),
                lon=float(row["lon_est"]),
                area_ha=_optional_float(row["area_ha"]),
                available_ha=_optional_float(row["available_ha"]),
                vocation=row["vocation"],
                motorway=row["motorway"],
                price_range=_price_range(row["price_eur_m2"]),
                creation_year=_optional_int(row["creation_year"]),
                firms=_optional_int(row["firms"]),
                jobs=_optional_int(row["jobs"]),
                description=row["description_fr"],
                source=row["source"],
            )
            for row in csv.DictReader(stream)
        ]


def site_id_of(park: ParkFacts) -> str:
    return f"{park.commune_insee}_SITE-ECO_{park.number:05d}"


def terr_id_of(park: ParkFacts, index: int) -> str:
    return f"{park.commune_insee}_TERRAIN-ECO_{park.number:02d}{index:03d}"


@dataclass
class SeedReport:
    sites_created: int = 0
    sites_present: int = 0
    terrains_created: int = 0
    zones_created: int = 0
    accounts_created: int = 0
    prospects_created: int = 0
    agreements_created: int = 0


# --- distances -----------------------------------------------------------------------------


def road_km(a: Point, b: Point) -> Decimal:
    return Decimal(str(round(a.distance(b) / 1000 * ROAD_DETOUR, 1)))


def nearest_interchange(point: Point) -> tuple[str, Decimal]:
    motorway, _, lat, lon = min(INTERCHANGES, key=lambda i: point.distance(lambert93(i[3], i[2])))
    return motorway, road_km(point, lambert93(lon, lat))


# --- the flood zone ------------------------------------------------------------------------


def loire_flood_zone() -> shapely.MultiPolygon:
    course = LineString([lambert93(lon, lat) for lon, lat in LOIRE_COURSE])
    val = Polygon([lambert93(lon, lat) for lon, lat in VAL_DE_TOURS])
    zone = geometry.snap(course.buffer(LOIRE_HALF_WIDTH_M).union(val))
    return shapely.MultiPolygon([geometry.largest_polygon(zone)])


def ensure_flood_zone(session: Session, report: SeedReport) -> shapely.Geometry:
    existing = session.scalars(
        select(ConstraintZone).where(ConstraintZone.source == FLOOD_ZONE_SOURCE)
    ).first()
    if existing is not None:
        return to_shape(existing.geom)
    zone = loire_flood_zone()
    session.add(
        ConstraintZone(
            zone_type="inondation",
            nom="Zone inondable de la Loire (illustrative)",
            source=FLOOD_ZONE_SOURCE,
            properties={"avertissement": "Tracé illustratif, pas le PPRI officiel."},
            geom=from_shape(zone, srid=2154),
            is_demo=True,
        )
    )
    report.zones_created += 1
    return zone


# --- plots ---------------------------------------------------------------------------------


def _stage_weights(park: ParkFacts) -> dict[str, int]:
    vendu = 62 if park.id in AGEING_PARKS else 48
    return {
        "vendu, commercialisation achevée": vendu,
        "en vente": 24,
        "en vente avec contraintes": 4,
        "réservé par option de réservation": 9,
        "réservé par une délibération de l'EPCI": 4,
        "non commercialisé": 8,
    }


def choose_stage(park: ParkFacts, surface_ha: float, budget: list[float],
                 rng: random.Random) -> str:  # fmt: skip
    """The marketing stage; parks with a known available area offer about that much."""
    if park.id in LAND_RESERVES:
        return "non commercialisé"
    if park.id in BROWNFIELDS:
        return "en vente avec contraintes"
    if park.available_ha is not None:
        if budget[0] > 0:
            budget[0] -= surface_ha
            return "en vente"
        return "vendu, commercialisation achevée"
    weights = _stage_weights(park)
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _price(park: ParkFacts, rng: random.Random) -> Decimal:
    if park.price_range:
        low, high = park.price_range
    else:
        urban = park.epci_siren == METROPOLE_SIREN
        low, high = {
            "tertiaire": (90, 140) if urban else (35, 60),
            "entrepôts, logistique": (28, 40) if urban else (18, 26),
            "artisanale": (40, 55) if urban else (14, 22),
            "industrielle": (30, 45) if urban else (10, 20),
        }.get(park.vocation, (35, 55) if urban else (15, 28))
    return Decimal(str(round(rng.uniform(low, high) * 2) / 2))


# From this surface on, a plot is marketed with its own high-voltage (HTA) delivery point,
# as the big logistics and industrial lots are: at least 1 MW.
HTA_PLOT_HA = 5.0
HTA_MIN_KVA = 1000
HEAVY_INDUSTRY_ICPE = frozenset({"autorisation", "seveso seuil bas", "seveso seuil haut"})
HEAVY_INDUSTRY_MIN_HA = 2.0


def _power_kva(park: ParkFacts, surface_ha: float, rng: random.Random) -> int:
    low, high = {
        "entrepôts, logistique": (250, 1500),
        "industrielle": (400, 3000),
        "artisanale": (36, 250),
        "tertiaire": (100, 400),
    }.get(park.vocation, (100, 1000))
    if surface_ha >= HTA_PLOT_HA:
        low, high = max(low, HTA_MIN_KVA), max(high, 2.5 * HTA_MIN_KVA)
    return int(round(rng.uniform(low, high), -1))


def _icpe_max(park: ParkFacts, in_flood_zone: bool, rng: random.Random) -> str:
    choices = {
        "entrepôts, logistique": ("enregistrement", "autorisation", "autorisation"),
        "industrielle": ("enregistrement", "autorisation", "autorisation", "seveso seuil bas"),
        "artisanale": ("aucun", "déclaration", "déclaration"),
        "tertiaire": ("aucun", "aucun", "déclaration"),
    }.get(park.vocation, ("déclaration", "enregistrement", "enregistrement", "autorisation"))
    regime = rng.choice(choices)
    # Flood-prone land does not take hazardous installations beyond simple declaration.
    return "déclaration" if in_flood_zone and regime not in ("aucun", "déclaration") else regime


def _height_m(park: ParkFacts, rng: random.Random) -> Decimal:
    low, high = {
        "entrepôts, logistique": (18, 25),
        "industrielle": (15, 30),
        "artisanale": (9, 12),
        "tertiaire": (15, 28),
    }.get(park.vocation, (12, 18))
    return Decimal(rng.randint(low, high))


def _company_name(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_PLACES)} (démo)"


def _refcad(insee: str, rng: random.Random) -> str:
    section = "Z" + rng.choice("ABCDEHKLMNO")
    first = rng.randint(1, 400)
    count = rng.choice((1, 1, 2))
    return "|".join(f"{insee}000{section}{first + i:04d}" for i in range(count))


def _day_between(start: date, end: date, rng: random.Random) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _sold_attributes(park: ParkFacts, surface_ha: float, rng: random.Random) -> dict:
    vacant = rng.random() < (0.35 if park.id in AGEING_PARKS else 0.12)
    price = _price(park, rng)
    since = date(park.creation_year or 1995, 1, 1)
    return {
        "terr_etat_occup": "vacant" if vacant else "occupé",
        "terr_usage": rng.choice(("bâti productif", "bâti productif", "dépôt, stockage")),
        "terr_maitrise_fonc": rng.choice(
            ("établissement industriel et commercial", "investisseur professionnel")
        ),
        "terr_stade_amngt": "viabilisé et aménagé",
        "terr_acquereur": _company_name(rng),
        "terr_cession_date": _day_between(since, date(2025, 12, 31), rng),
        "terr_vente_montant": (price * Decimal(str(surface_ha)) * 10_000).quantize(Decimal(100)),
        # Before 2024: vacant for two years or more on 1 January of any year from 2026 on (the
        # demo's reference year), hence legally vacant whenever the demo is shown.
        "terr_vacant_depuis": _day_between(date(2016, 1, 1), date(2023, 12, 31), rng)
        if vacant
        else None,
    }


def _offered_attributes(park: ParkFacts, stage: str, rng: random.Random) -> dict:
    if park.id in BROWNFIELDS:
        return {
            "terr_etat_occup": "friche",
            "terr_usage": "sans objet",
            "terr_maitrise_fonc": "établissement public foncier",
            "terr_stade_amngt": "viabilisé non aménagé",
            "terr_m2_prix": _price(park, rng),
            "terr_vacant_depuis": date(2015, 6, 30),
            "terr_dispo_date": date(2027, 6, 30),
        }
    amngt = rng.choices(
        ("viabilisé et aménagé", "viabilisé non aménagé", "viabilisation en cours"),
        weights=(60, 25, 15),
    )[0]
    ready = None
    if amngt == "viabilisation en cours":
        ready = REFERENCE_DATE + timedelta(days=rng.randint(120, 540))
    return {
        "terr_etat_occup": "inoccupé",
        "terr_usage": "sans objet",
        "terr_maitrise_fonc": rng.choices(
            ("structure intercommunale", "SEM ou SPLA", "aménageur"), weights=(70, 15, 15)
        )[0],
        "terr_stade_amngt": amngt,
        "terr_m2_prix": _price(park, rng),
        "terr_dispo_date": ready,
        "terr_cle_en_main": amngt == "viabilisé et aménagé"
        and stage in STADES_DISPONIBLES
        and (park.id in TURNKEY_PARKS or rng.random() < 0.2),
    }


def _reserve_attributes(rng: random.Random) -> dict:
    return {
        "terr_etat_occup": "inoccupé",
        "terr_usage": "espace agricole",
        "terr_maitrise_fonc": rng.choice(("structure intercommunale", "personne physique")),
        "terr_stade_amngt": "non aménagé, non viabilisé",
        "terr_dispo_date": REFERENCE_DATE + timedelta(days=rng.randint(730, 1460)),
    }


def _matching_extensions(park: ParkFacts, surface_ha: float, in_flood_zone: bool,
                         rng: random.Random) -> dict:  # fmt: skip
    divisible = surface_ha >= 2 and rng.random() < 0.5
    lot_min = None
    if divisible:
        lot_min = Decimal(str(max(0.5, round(surface_ha * rng.uniform(0.2, 0.45), 1))))
    power = _power_kva(park, surface_ha, rng)
    icpe_max = _icpe_max(park, in_flood_zone, rng)
    if icpe_max in HEAVY_INDUSTRY_ICPE and surface_ha >= HEAVY_INDUSTRY_MIN_HA:
        # Land opened to authorised installations is equipped for heavy industry.
        power = max(power, int(round(1500 + 250 * surface_ha, -1)))
    return {
        "terr_puissance_kva": power,
        "terr_icpe_max": icpe_max,
        "terr_divisible": divisible,
        "terr_lot_min_ha": lot_min,
        "terr_hauteur_max_m": _height_m(park, rng),
    }


def plot_attributes(park: ParkFacts, terr_id: str, polygon: Polygon, in_flood_zone: bool,
                    budget: list[float]) -> dict:  # fmt: skip
    rng = random.Random(terr_id)
    surface_ha = round(polygon.area / 10_000, 4)
    stage = choose_stage(park, surface_ha, budget, rng)
    if stage == "en vente" and in_flood_zone:
        stage = "en vente avec contraintes"
    if stage == "vendu, commercialisation achevée":
        state = _sold_attributes(park, surface_ha, rng)
    elif stage == "non commercialisé":
        state = _reserve_attributes(rng)
    else:
        state = _offered_attributes(park, stage, rng)
    return {
        "terr_id": terr_id,
        "terr_refcad": _refcad(park.commune_insee, rng),
        "terr_surf_brute": Decimal(str(surface_ha)),
        "terr_utile": True,
        "terr_identif_date": IDENTIFIED_ON,
        "terr_actu_date": _day_between(date(2026, 1, 5), date(2026, 6, 30), rng),
        "terr_stade_comm": stage,
        "terr_geomsurf": from_shape(polygon, srid=2154),
        "is_demo": True,
        **_matching_extensions(park, surface_ha, in_flood_zone, rng),
        **state,
    }


def owner_of(terrain: Terrain, epci: Epci, rng: random.Random) -> Owner:
    if terrain.terr_maitrise_fonc == "personne physique":
        return Owner(
            nom=f"Propriétaire privé n° {rng.randint(100, 999)} (démo)",
            nature="personne physique",
            is_demo=True,
        )
    if terrain.terr_acquereur:
        return Owner(nom=terrain.terr_acquereur, nature="personne morale", is_demo=True)
    return Owner(nom=epci.nom, nature="personne morale", siren=epci.siren, is_demo=True)


# --- sites ---------------------------------------------------------------------------------


def _vocation_flags(vocation: str) -> dict[str, bool]:
    mixed = vocation == "mixte"
    return {
        "site_voca_industrielle": mixed or vocation in ("industrielle", "entrepôts, logistique"),
        "site_voca_commerciale": mixed,
        "site_voca_tertiaire": mixed or vocation == "tertiaire",
        "site_voca_artisanale": mixed or vocation == "artisanale",
        "site_voca_touristique": False,
        "site_voca_portuaire": False,
        "site_voca_aeroportuaire": False,
    }


def _networks(park: ParkFacts, rng: random.Random) -> dict[str, bool]:
    serviced = park.id not in LAND_RESERVES
    urban = park.epci_siren == METROPOLE_SIREN
    return {
        "reseau_eau_pluviale": serviced,
        "reseau_eau_potable": serviced,
        "reseau_assainissement": serviced,
        "reseau_electrique": serviced,
        "reseau_gaz": serviced and (park.vocation == "industrielle" or rng.random() < 0.6),
        "reseau_fibre_optique": serviced and (urban or rng.random() < 0.75),
        "reseau_fret_ferroviaire": park.id in RAIL_PARKS,
        "reseau_fluvial": False,
        "desserte_tc": urban or park.id == "P07",
    }


def _site_type_and_state(park: ParkFacts) -> tuple[str, str]:
    if park.id in LAND_RESERVES:
        return "zone AU à vocation économique", "en projet"
    if park.id in BROWNFIELDS:
        return "site économique historique hors ZAE", "projet de déclassement"
    return "zone d'activité économique", "existant et actif"


def build_site(park: ParkFacts, perimeter: Perimeter, epci: Epci, rng: random.Random) -> Site:
    site_type, site_etat = _site_type_and_state(park)
    centroid = perimeter.polygon.representative_point()
    motorway, motorway_km = nearest_interchange(centroid)
    airport_name, airport_lat, airport_lon = AIRPORT
    return Site(
        site_id=site_id_of(park),
        pole_id=f"{park.commune_insee}_POLE-ECO_{park.number:05d}",
        site_nom=park.name,
        site_type=site_type,
        site_vocadomi=park.vocation,
        site_etat=site_etat,
        site_surf_brute=Decimal(str(round(perimeter.polygon.area / 10_000, 2))),
        site_surf_utile=Decimal(0),  # set from the plots once they are laid out
        site_creation_date=park.creation_year,
        site_identif_date=IDENTIFIED_ON,
        site_actu_date=date(2026, 6, 30),
        source_producteur=DEMO_SOURCE,
        site_description=park.description or None,
        site_quali_territoire="Site clé en main" if park.id in TURNKEY_PARKS else None,
        site_evol_urba="renouvellement urbain" if park.id in BROWNFIELDS else "extension urbaine",
        site_url=park.source.split(" ; ")[0] or None,
        site_epci_siren=park.epci_siren,
        site_comm_insee=park.commune_insee,
        site_moa_type="epci",
        site_moa_nom=epci.nom,
        site_nb_etab=park.firms,
        site_nb_emploi=park.jobs,
        site_geomsurf=from_shape(as_multipolygon(perimeter.polygon), srid=2154),
        desserte_route_nom=park.motorway or None,
        autoroute_nom=motorway,
        autoroute_echang_dist=motorway_km,
        aeroport_nom=airport_name,
        aeroport_dist=road_km(centroid, lambert93(airport_lon, airport_lat)),
        is_demo=True,
        **_vocation_flags(park.vocation),
        **_networks(park, rng),
    )


def _place_park(session: Session, park: ParkFacts, taken: shapely.Geometry | None,
                rng: random.Random) -> Perimeter:  # fmt: skip
    commune = session.get(Commune, park.commune_insee)
    if commune is None or commune.epci_siren != park.epci_siren:
        raise DemoDataError(
            f"{park.id} {park.name}: commune {park.commune_insee} is not loaded or not in EPCI "
            f"{park.epci_siren}; run `foncier territory load --departement 37` first"
        )
    outline = to_shape(commune.geom)
    centre = geometry.centre_inside(lambert93(park.lon, park.lat), outline)
    area = park.area_ha or DEFAULT_AREA_HA.get(park.vocation, 30.0)
    return geometry.park_perimeter(centre, area, outline, taken, rng)


def add_park(session: Session, park: ParkFacts, flood: shapely.Geometry,
             taken: shapely.Geometry | None, report: SeedReport) -> Polygon:  # fmt: skip
    rng = random.Random(park.id)
    perimeter = _place_park(session, park, taken, rng)
    epci = session.get(Epci, park.epci_siren)
    assert epci is not None  # _place_park checked that the park's commune belongs to it
    site = build_site(park, perimeter, epci, rng)
    session.add(site)
    budget = [park.available_ha or 0.0]
    lots = geometry.plot_layout(perimeter, park.vocation, rng)
    terrains = []
    for index, polygon in enumerate(lots, start=1):
        terr_id = terr_id_of(park, index)
        attributes = plot_attributes(park, terr_id, polygon, polygon.intersects(flood), budget)
        terrain = Terrain(site_id=site.site_id, **attributes)
        terrain.owners.append(owner_of(terrain, epci, random.Random(terr_id)))
        terrains.append(terrain)
    session.add_all(terrains)
    site.site_surf_utile = sum((t.terr_surf_brute for t in terrains), Decimal(0))
    site.site_surf_comm_dispo = sum(
        (t.terr_surf_brute for t in terrains if t.terr_stade_comm in STADES_DISPONIBLES),
        Decimal(0),
    )
    report.sites_created += 1
    report.terrains_created += len(terrains)
    return perimeter.polygon


def _taken_area(session: Session) -> shapely.Geometry | None:
    perimeters = session.scalars(select(Site.site_geomsurf).order_by(Site.site_id))
    geoms = [to_shape(g) for g in perimeters]
    return shapely.union_all(geoms) if geoms else None


def delete_demo(session: Session) -> None:
    """Remove every demonstration record (and only those).

    Plots that users added to demo parks are theirs: rather than delete them with the parks,
    refuse and name them.
    """
    kept = session.scalars(
        select(Terrain.terr_id)
        .join(Site)
        .where(Site.is_demo, ~Terrain.is_demo)
        .order_by(Terrain.terr_id)
    ).all()
    if kept:
        raise DemoDataError(
            "cannot reset the demo: these plots were added to demo parks and are not demo "
            f"records: {', '.join(kept)}; move or delete them first"
        )
    # The demo's history goes with it: rebuilt plots must not inherit their predecessors'.
    session.execute(
        delete(AuditEvent).where(AuditEvent.site_id.in_(select(Site.site_id).where(Site.is_demo)))
    )
    session.execute(delete(Owner).where(Owner.is_demo))
    session.execute(delete(Terrain).where(Terrain.is_demo))
    session.execute(delete(Site).where(Site.is_demo))
    session.execute(delete(ConstraintZone).where(ConstraintZone.is_demo))
    delete_demo_accounts(session)
    session.flush()


def seed_demo(session: Session, *, reset: bool = False, with_cases: bool = True) -> SeedReport:
    """Create the demo inventory and accounts, then (``with_cases``) the demo's company
    projects and agreement; what is already present is left as it is (idempotent). The
    session's actor (foncier.core.audit.acting_as) is recorded as the author of the inventory."""
    report = SeedReport()
    if reset:
        delete_demo_cases(session)
        delete_demo(session)
    flood = ensure_flood_zone(session, report)
    taken = _taken_area(session)
    with audit.reason(session, "Jeu de démonstration"):
        for park in read_parks():
            if session.get(Site, site_id_of(park)) is not None:
                report.sites_present += 1
                continue
            polygon = add_park(session, park, flood, taken, report)
            taken = polygon if taken is None else taken.union(polygon)
    report.accounts_created = seed_demo_accounts(session)
    session.flush()
    misplaced = demo_sites_outside_their_epci(session)
    if misplaced:
        raise DemoDataError(f"demo sites outside their EPCI: {', '.join(misplaced)}")
    if with_cases:
        cases = seed_demo_cases(session)
        report.prospects_created, report.agreements_created = cases.prospects, cases.agreements
    return report


def demo_sites_outside_their_epci(session: Session) -> list[str]:
    """Checked by PostGIS against the loaded outlines: ids of demo sites not inside their EPCI."""
    return list(
        session.scalars(
            select(Site.site_id)
            .join(Epci, Epci.siren == Site.site_epci_siren)
            .where(Site.is_demo, ~func.ST_CoveredBy(Site.site_geomsurf, Epci.geom))
        )
    )
