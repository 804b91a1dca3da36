"""A company's needs: validated against needs.schema.json, normalised, explained per field.

``parse_needs`` is the one door into the engine: JSON from the CLI, the API and the web form
all go through it, so that a mistake gets the same message everywhere (French for the pages,
English for the command line). The schema is documented key by key in docs/matching.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError
from pyproj import Transformer

from foncier.core.bounded_text import TextLimitError, TextLimits, load_json
from foncier.core.errors import FoncierError
from foncier.matching import naf as naf_codes
from foncier.matching import scoring, wording


@dataclass(frozen=True)
class NeedsIssue:
    """One problem with the needs: where (``surface_min_ha``, ``near.lat``) and what, twice."""

    path: str
    french: str
    english: str


class NeedsError(FoncierError):
    """The needs cannot be used; ``issues`` says why, field by field."""

    def __init__(self, issues: list[NeedsIssue]) -> None:
        super().__init__("; ".join(f"{issue.path}: {issue.english}" for issue in issues))
        self.issues = issues


@dataclass(frozen=True)
class Near:
    """A place the plot should be near, in WGS 84 as given and in Lambert-93 for distances."""

    lat: float
    lon: float
    max_km: float | None
    x: float
    y: float


@dataclass(frozen=True)
class Needs:
    surface_min_ha: float
    surface_max_ha: float | None = None
    budget_max_eur_m2: float | None = None
    budget_is_hard: bool = False
    vocation: str | None = None
    naf: str | None = None
    icpe_regime: str = "aucun"
    networks_required: frozenset[str] = frozenset()
    networks_wanted: frozenset[str] = frozenset()
    power_min_kva: float | None = None
    motorway_max_km: float | None = None
    needed_by: date | None = None
    reference_date: date = field(default_factory=date.today)
    turnkey_required: bool = False
    height_min_m: float | None = None
    near: Near | None = None
    avoid_zones: frozenset[str] = frozenset()
    weights: dict[str, float] = field(default_factory=dict)
    # Accepted so that callers can pass what they know; never read by the engine.
    origin_epci: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        # A date wanted already past means "as soon as possible": judged on the reference date.
        # Clamping it here keeps the SQL condition and scoring.hard_failures one simple rule
        # (available_from <= needed_by) that never excludes a plot available today.
        if self.needed_by is not None and self.needed_by < self.reference_date:
            object.__setattr__(self, "needed_by", self.reference_date)

    def to_json(self) -> dict[str, Any]:
        """The normalised needs: every key, defaults filled in, sets in a stable order."""
        near = None
        if self.near is not None:
            near = {"lat": self.near.lat, "lon": self.near.lon, "max_km": self.near.max_km}
        return {
            "label": self.label,
            "surface_min_ha": self.surface_min_ha,
            "surface_max_ha": self.surface_max_ha,
            "budget_max_eur_m2": self.budget_max_eur_m2,
            "budget_is_hard": self.budget_is_hard,
            "vocation": self.vocation,
            "naf": self.naf,
            "icpe_regime": self.icpe_regime,
            "networks_required": _ordered(self.networks_required, scoring.NETWORKS),
            "networks_wanted": _ordered(self.networks_wanted, scoring.NETWORKS),
            "power_min_kva": self.power_min_kva,
            "motorway_max_km": self.motorway_max_km,
            "needed_by": self.needed_by.isoformat() if self.needed_by else None,
            "reference_date": self.reference_date.isoformat(),
            "turnkey_required": self.turnkey_required,
            "height_min_m": self.height_min_m,
            "near": near,
            "avoid_zones": _ordered(self.avoid_zones, scoring.ZONE_TYPES),
            "weights": {
                name: self.weights[name] for name in scoring.CRITERION_NAMES if name in self.weights
            },
            "origin_epci": self.origin_epci,
        }


def _ordered(values: frozenset[str], order: tuple[str, ...]) -> list[str]:
    return [value for value in order if value in values]


# --- Messages ------------------------------------------------------------------------------

# (French, English) per field: what to enter, shown whenever a value of that field is refused.
FIELD_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "label": (
        "indiquez un intitulé de 200 caractères au plus",
        "give a label of at most 200 characters",
    ),
    "surface_min_ha": (
        "indiquez une surface minimale positive, en hectares",
        "give a positive minimum surface, in hectares",
    ),
    "surface_max_ha": (
        "indiquez une surface maximale positive, en hectares",
        "give a positive maximum surface, in hectares",
    ),
    "budget_max_eur_m2": (
        "indiquez un budget positif, en euros par mètre carré",
        "give a positive budget, in euros per square metre",
    ),
    "budget_is_hard": ("indiquez vrai ou faux", "give true or false"),
    "vocation": (
        "choisissez une vocation de la liste CNIG (industrielle, tertiaire, artisanale…)",
        "choose a CNIG vocation (industrielle, tertiaire, artisanale...)",
    ),
    "naf": ("indiquez un code NAF comme 52.10B", "give a NAF code such as 52.10B"),
    "icpe_regime": (
        "choisissez un régime ICPE : aucun, déclaration, enregistrement, autorisation, "
        "seveso seuil bas ou seveso seuil haut",
        "choose an ICPE regime: aucun, déclaration, enregistrement, autorisation, "
        "seveso seuil bas or seveso seuil haut",
    ),
    "networks_required": (
        "choisissez des réseaux de la liste, chacun une fois",
        "choose networks from the list, each once",
    ),
    "networks_wanted": (
        "choisissez des réseaux de la liste, chacun une fois",
        "choose networks from the list, each once",
    ),
    "power_min_kva": (
        "indiquez une puissance positive, en kVA",
        "give a positive power, in kVA",
    ),
    "motorway_max_km": (
        "indiquez une distance positive, en kilomètres",
        "give a positive distance, in kilometres",
    ),
    "needed_by": ("indiquez une date au format AAAA-MM-JJ", "give a date as YYYY-MM-DD"),
    "reference_date": ("indiquez une date au format AAAA-MM-JJ", "give a date as YYYY-MM-DD"),
    "turnkey_required": ("indiquez vrai ou faux", "give true or false"),
    "height_min_m": (
        "indiquez une hauteur positive, en mètres",
        "give a positive height, in metres",
    ),
    "near": (
        "indiquez un lieu : latitude et longitude, et au besoin une distance maximale",
        "give a place: latitude and longitude, and a maximum distance if needed",
    ),
    "near.lat": (
        "indiquez une latitude en France métropolitaine (entre 41 et 51,5)",
        "give a latitude in metropolitan France (41 to 51.5)",
    ),
    "near.lon": (
        "indiquez une longitude en France métropolitaine (entre -5,5 et 10)",
        "give a longitude in metropolitan France (-5.5 to 10)",
    ),
    "near.max_km": (
        "indiquez une distance maximale positive, en kilomètres",
        "give a positive maximum distance, in kilometres",
    ),
    "avoid_zones": (
        "choisissez des types de zone : inondation, pprt, natura2000 ou autre",
        "choose zone types: inondation, pprt, natura2000 or autre",
    ),
    "weights": (
        "indiquez un poids positif ou nul pour des critères connus",
        "give a non-negative weight for known criteria",
    ),
    "origin_epci": ("indiquez le SIREN de l’EPCI (9 chiffres)", "give the EPCI's SIREN (9 digits)"),
}


def _issue(path: str, french: str | None = None, english: str | None = None) -> NeedsIssue:
    default_fr, default_en = FIELD_MESSAGES.get(
        path, FIELD_MESSAGES.get(path.split(".")[0], ("", ""))
    )
    return NeedsIssue(path, french or default_fr, english or default_en)


def _schema_issue(error: SchemaError) -> NeedsIssue:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return _issue(f"{path}.{missing}" if path else missing)
    if error.validator == "additionalProperties" and not path:
        unknown = sorted(set(error.instance) - set(schema()["properties"]))
        keys = ", ".join(key if len(key) <= 40 else key[:40] + "…" for key in unknown)
        return _issue(
            keys,
            f"clé inconnue ; clés possibles : {', '.join(schema()['properties'])}",
            f"unknown key; known keys: {', '.join(schema()['properties'])}",
        )
    if path.startswith("weights"):
        if "propertyNames" in error.absolute_schema_path:
            names = ", ".join(scoring.CRITERION_NAMES)
            return _issue(
                f"weights.{error.instance}",
                f"critère inconnu ; critères : {names}",
                f"unknown criterion; criteria: {names}",
            )
        if error.validator == "maximum":
            return _issue(path, "indiquez un poids de 0 à 1 000", "give a weight from 0 to 1,000")
        return _issue(path, "indiquez un poids positif ou nul", "give a non-negative weight")
    if path.startswith(("networks_", "avoid_zones")):
        path = path.split(".")[0]
    if not path:
        return _issue(
            "", "les besoins doivent être un objet JSON", "the needs must be a JSON object"
        )
    if error.validator == "maximum":
        default = _issue(path)
        limit = error.validator_value
        return _issue(
            path,
            f"{default.french} ({wording.number(limit, 0)} au plus)",
            f"{default.english} (at most {limit:,})",
        )
    return _issue(path)


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the needs (foncier/matching/needs.schema.json)."""
    text = resources.files("foncier.matching").joinpath("needs.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _to_lambert93() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


# --- Parsing -------------------------------------------------------------------------------


# Limits checked before the schema, without recursion, so that no input can make validation
# slow (jsonschema's uniqueItems is quadratic) or deep: the needs are an object whose values
# are scalars, lists of scalars (networks, zones) or objects of scalars (near, weights).
MAX_CONTAINER_DEPTH: Final = 2
MAX_LIST_ITEMS: Final = 8
_LARGEST_FLOAT: Final = int(1.7976931348623157e308)


def _list_limit(field: str) -> int:
    """A list may hold each value of its enumeration once: no more items than that."""
    items = schema()["properties"].get(field, {}).get("items", {})
    return len(items.get("enum", ())) or MAX_LIST_ITEMS


def _shape_issues(data: object) -> list[NeedsIssue]:
    """Lists too long, objects with too many keys, containers nested too deep."""
    if not isinstance(data, dict):
        return [
            _issue("", "les besoins doivent être un objet JSON", "the needs must be a JSON object")
        ]
    key_limit = len(schema()["properties"])
    issues: dict[str, NeedsIssue] = {}
    stack: list[tuple[object, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        field = path.split(".")[0]
        if depth > MAX_CONTAINER_DEPTH:
            issues.setdefault(
                field, _issue(field, "valeur trop imbriquée", "value nested too deeply")
            )
        elif isinstance(value, list):
            limit = _list_limit(field)
            if len(value) > limit:
                fr, en = FIELD_MESSAGES.get(field, ("", ""))
                issues.setdefault(
                    field,
                    _issue(
                        field,
                        f"{limit} éléments au plus" + (f" ; {fr}" if fr else ""),
                        f"at most {limit} items" + (f"; {en}" if en else ""),
                    ),
                )
            else:
                stack.extend((item, path, depth + 1) for item in value)
        elif len(value) > key_limit:
            issues.setdefault(
                path,
                _issue(
                    path,
                    f"trop de clés : {key_limit} au plus",
                    f"too many keys: at most {key_limit}",
                ),
            )
        else:
            stack.extend(
                (item, f"{path}.{key}".strip("."), depth + 1) for key, item in value.items()
            )
    return sorted(issues.values(), key=_form_order)


def _unreadable_numbers(data: object, path: str = "") -> list[str]:
    """Paths of NaN or infinite numbers (Python's JSON reader accepts them; the schema not)
    and of integers too large for a float. Called after _shape_issues: the depth is bounded."""
    if isinstance(data, float) and not math.isfinite(data):
        return [path]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > _LARGEST_FLOAT:
        return [path]
    if isinstance(data, dict):
        return [
            p for k, v in data.items() for p in _unreadable_numbers(v, f"{path}.{k}".strip("."))
        ]
    if isinstance(data, list):
        return [p for v in data for p in _unreadable_numbers(v, path)]
    return []


def _schema_issues(data: object) -> list[NeedsIssue]:
    issues = _shape_issues(data)
    if issues:
        return issues
    issues = [_issue(path) for path in _unreadable_numbers(data)]
    if issues:
        return issues
    unique: dict[str, NeedsIssue] = {}
    for error in _validator().iter_errors(data):
        issue = _schema_issue(error)
        unique.setdefault(issue.path, issue)
    return sorted(unique.values(), key=_form_order)


def _form_order(issue: NeedsIssue) -> tuple[int, str]:
    """Issues in the order of the schema's keys, as a form lists its fields."""
    keys = list(schema()["properties"])
    key = issue.path.split(".")[0]
    return (keys.index(key) if key in keys else -1, issue.path)


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else float(value)


def _near(data: dict[str, Any] | None) -> Near | None:
    if data is None:
        return None
    x, y = _to_lambert93().transform(float(data["lon"]), float(data["lat"]))
    max_km = data.get("max_km")
    return Near(
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        max_km=None if max_km is None else float(max_km),
        x=x,
        y=y,
    )


def _vocation(data: dict[str, Any]) -> tuple[str | None, str | None, list[NeedsIssue]]:
    """(vocation, normalised NAF code, issues): a given vocation wins over the NAF code's."""
    code = data.get("naf")
    if code is None:
        return data.get("vocation"), None, []
    normalised = naf_codes.normalise_naf(code)
    derived = naf_codes.vocation_for_naf(code)
    if derived is None and data.get("vocation") is None:
        return None, normalised, [
            _issue(
                "naf",
                f"le code NAF {normalised} ne correspond à aucune vocation de parc d’activités ; "
                "indiquez la vocation",
                f"NAF code {normalised} matches no business-park vocation; give the vocation",
            )
        ]  # fmt: skip
    return data.get("vocation") or derived, normalised, []


def _cross_field_issues(needs: Needs) -> list[NeedsIssue]:
    issues = []
    if needs.surface_max_ha is not None and needs.surface_max_ha < needs.surface_min_ha:
        issues.append(
            _issue(
                "surface_max_ha",
                "la surface maximale doit être au moins égale à la surface minimale",
                "the maximum surface must be at least the minimum surface",
            )
        )
    try:
        scoring.resolve_weights(needs)
    except ValueError:
        issues.append(
            _issue(
                "weights",
                "au moins un critère qui s’applique doit avoir un poids positif",
                "at least one applicable criterion must weigh more than zero",
            )
        )
    return issues


# Needs fit in a few hundred bytes; 64 KB leaves room (the API refuses larger bodies first).
NEEDS_JSON: Final = TextLimits("JSON", 64 * 2**10)


def read_needs_json(text: str) -> Any:
    """The data of a needs text (a file, a request's body), bounded before it is parsed:
    NeedsError beyond a bound (size, nesting, digits), json.JSONDecodeError if malformed."""
    try:
        return load_json(text, NEEDS_JSON)
    except TextLimitError as error:
        raise NeedsError([_issue("", error.french, error.english)]) from None


def parse_needs(data: object) -> Needs:
    """Validated, normalised needs from JSON data; NeedsError lists every problem found.

    Any input gives Needs or NeedsError, quickly: sizes and depth are checked before the
    schema, every number is bounded by it, and nothing else escapes.
    """
    try:
        return _parse_needs(data)
    except NeedsError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        raise NeedsError(
            [_issue("", "besoins illisibles", f"unreadable needs ({type(error).__name__})")]
        ) from error


def _parse_needs(data: object) -> Needs:
    issues = _schema_issues(data)
    if issues:
        raise NeedsError(issues)
    assert isinstance(data, dict)  # the schema says so
    vocation, naf, issues = _vocation(data)
    needs = Needs(
        label=data.get("label"),
        surface_min_ha=float(data["surface_min_ha"]),
        surface_max_ha=_number(data, "surface_max_ha"),
        budget_max_eur_m2=_number(data, "budget_max_eur_m2"),
        budget_is_hard=bool(data.get("budget_is_hard", False)),
        vocation=vocation,
        naf=naf,
        icpe_regime=data.get("icpe_regime", "aucun"),
        networks_required=frozenset(data.get("networks_required", ())),
        networks_wanted=frozenset(data.get("networks_wanted", ())),
        power_min_kva=_number(data, "power_min_kva"),
        motorway_max_km=_number(data, "motorway_max_km"),
        needed_by=_date(data.get("needed_by")),
        reference_date=_date(data.get("reference_date")) or date.today(),
        turnkey_required=bool(data.get("turnkey_required", False)),
        height_min_m=_number(data, "height_min_m"),
        near=_near(data.get("near")),
        avoid_zones=frozenset(data.get("avoid_zones", ())),
        weights={name: float(value) for name, value in data.get("weights", {}).items()},
        origin_epci=data.get("origin_epci"),
    )
    issues += _cross_field_issues(needs)
    if issues:
        raise NeedsError(issues)
    return needs


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
