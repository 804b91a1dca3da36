"""Balances between territories: for a period, per EPCI of the network, the redirections it
sent and received and what became of them, the hectares and planned jobs that moved, its
agreements in force and its land on sale today; its share of the exposure in the searches
run from the network's projects; the flows between EPCIs; and the neutrality indicator, naming
each EPCI whose share of the exposure strays from its share of the land on sale by more than
NEUTRALITY_THRESHOLD (docs/meetings.md says exactly what each figure counts).

A redirection counts in the period when it was proposed in it (its proposal's day in French
time, both ends included). Balances carry counts and sums only, never a company, so every
member of the network reads them — référents, coordinateur, partners and administrators
alike — and nothing here takes the reader into account.

A fixed number of queries whatever the number of EPCIs: the redirections of the period are
counted by (from, to, status, reason, settled), the projects summed by EPCI and direction, the
logged search results weighed by EPCI.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Date, Row, and_, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from foncier.inventory.history import LOCAL_TIME
from foncier.matching.wording import quantity
from foncier.models import (
    Agreement,
    AgreementParty,
    Epci,
    Prospect,
    Redirection,
    SearchResult,
    SearchRun,
    Site,
    Terrain,
)
from foncier.models.base import WGS84
from foncier.models.prospects import DECLINE_REASONS
from foncier.models.views import site_summary
from foncier.prospects.search_log import LOGGED_RESULTS
from foncier.territory.epcis import list_epcis

ANSWERS: Final = {
    "acceptee": "accepted",
    "declinee": "declined",
    "retiree": "withdrawn",
    "proposee": "waiting",
}
IN_FORCE: Final = "en_vigueur"
# Hectares are stored to the square metre (4 decimals).
HECTARE_DECIMALS: Final = 4
# The neutrality indicator names an EPCI whose exposure share and land share differ by more
# than this (10 percentage points): enough to be more than the noise of a few searches.
NEUTRALITY_THRESHOLD: Final = 0.10


@dataclass(frozen=True)
class Period:
    """From ``du`` to ``au``, both days included."""

    du: date
    au: date

    def __post_init__(self) -> None:
        if self.du > self.au:
            raise ValueError(f"the period starts ({self.du}) after it ends ({self.au})")


def this_year() -> Period:
    """From 1 January of this year to today, in French time: the period when none is given."""
    today = datetime.now(LOCAL_TIME).date()
    return Period(date(today.year, 1, 1), today)


@dataclass
class EpciBalance:
    """One EPCI's figures over the period (hectares_on_sale and agreements: today)."""

    siren: str
    nom: str
    sent: int = 0
    received: int = 0
    accepted: int = 0
    declined: int = 0
    declined_by_reason: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(DECLINE_REASONS, 0)
    )
    withdrawn: int = 0
    waiting: int = 0
    installed: int = 0
    hectares_in: Decimal = Decimal(0)
    hectares_out: Decimal = Decimal(0)
    jobs_in: int = 0
    jobs_out: int = 0
    agreements_in_force: int = 0
    hectares_on_sale: Decimal = Decimal(0)
    land_share: float | None = None
    exposure_share: float | None = None
    success_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        hectares = ("hectares_in", "hectares_out", "hectares_on_sale")
        return {
            name: float(round(value, HECTARE_DECIMALS)) if name in hectares else value
            for name, value in vars(self).items()
        }


@dataclass(frozen=True)
class Flow:
    """The redirections of the period from one EPCI to another."""

    origin: str
    target: str
    proposed: int
    accepted: int
    installed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.origin,
            "to": self.target,
            "proposed": self.proposed,
            "accepted": self.accepted,
            "installed": self.installed,
        }


@dataclass(frozen=True)
class Imbalance:
    """An EPCI whose share of the exposure strays from its share of the land on sale by more
    than NEUTRALITY_THRESHOLD: over-exposed when the exposure is the larger."""

    siren: str
    nom: str
    exposure_share: float
    land_share: float

    @property
    def over_exposed(self) -> bool:
        return self.exposure_share > self.land_share

    @property
    def sentence(self) -> str:
        """« Tours Métropole Val de Loire a reçu 40 % de l’exposition pour 25 % des surfaces
        en vente »."""
        exposure = quantity(self.exposure_share * 100, "%", 0)
        land = quantity(self.land_share * 100, "%", 0)
        return f"{self.nom} a reçu {exposure} de l’exposition pour {land} des surfaces en vente"

    def to_json(self) -> dict[str, Any]:
        return {
            "siren": self.siren,
            "nom": self.nom,
            "exposure_share": self.exposure_share,
            "land_share": self.land_share,
            "over_exposed": self.over_exposed,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class Balances:
    period: Period
    epcis: list[EpciBalance]
    flows: list[Flow]
    neutrality: list[Imbalance]

    @property
    def comparable(self) -> bool:
        """The period has searches and the network land on sale: the indicator has a say."""
        return any(
            epci.exposure_share is not None and epci.land_share is not None for epci in self.epcis
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "du": self.period.du.isoformat(),
            "au": self.period.au.isoformat(),
            "epcis": [epci.to_json() for epci in self.epcis],
            "flows": [flow.to_json() for flow in self.flows],
            "neutrality": [imbalance.to_json() for imbalance in self.neutrality],
        }


def balances(session: Session, period: Period) -> Balances:
    """The balances of every EPCI of the network over ``period``, in list_epcis's order."""
    by_siren = {siren: EpciBalance(siren, nom) for siren, nom in list_epcis(session)}
    counted = _redirection_counts(session, period)
    _add_counts(by_siren, counted)
    _add_projects(by_siren, session, period)
    for siren, count in _agreements_in_force(session):
        by_siren[siren].agreements_in_force = count
    for siren, hectares in _hectares_on_sale(session):
        by_siren[siren].hectares_on_sale = hectares
    epcis = list(by_siren.values())
    _add_shares(epcis, _exposure(session, period))
    return Balances(period, epcis, _flows(counted, list(by_siren)), _imbalances(epcis))


@dataclass(frozen=True)
class Quarter:
    """The redirections proposed in one quarter of the period (its days in the period only)."""

    start: date
    proposed: int

    @property
    def label(self) -> str:
        """« T1 2026 »."""
        return f"T{(self.start.month - 1) // 3 + 1} {self.start.year}"


def proposed_by_quarter(session: Session, period: Period) -> list[Quarter]:
    """The redirections proposed in each quarter the period touches, the empty ones included
    (a trend needs its zeros), oldest first."""
    quarter = cast(func.date_trunc("quarter", _local_day(Redirection.proposed_at)), Date)
    counts = dict(
        session.execute(
            select(quarter, func.count()).where(_in_period(period)).group_by(quarter)
        ).all()
    )
    return [Quarter(start, counts.get(start, 0)) for start in _quarters(period)]


def _quarters(period: Period) -> list[date]:
    """The first day of each quarter the period touches."""
    start = date(period.du.year, (period.du.month - 1) // 3 * 3 + 1, 1)
    starts = []
    while start <= period.au:
        starts.append(start)
        month = start.month + 3
        start = date(start.year + month // 13, (month - 1) % 12 + 1, 1)
    return starts


def epci_centres(session: Session) -> dict[str, tuple[float, float]]:
    """(latitude, longitude) of a point inside each EPCI, by SIREN: where the flow map draws
    its flows from and to. ST_PointOnSurface, not the centroid, which may fall outside a
    crescent-shaped EPCI."""
    point = func.ST_Transform(func.ST_PointOnSurface(Epci.geom), WGS84)
    rows = session.execute(select(Epci.siren, func.ST_Y(point), func.ST_X(point)))
    return {siren: (latitude, longitude) for siren, latitude, longitude in rows}


# --- The queries ---------------------------------------------------------------------------


def _local_day(moment: Any) -> Any:
    """``moment``'s day in French time, as the period's days are counted."""
    return cast(func.timezone(LOCAL_TIME.key, moment), Date)


def _on_days(moment: Any, period: Period) -> Any:
    """``moment``'s day, in French time, is in the period."""
    return _local_day(moment).between(period.du, period.au)


def _in_period(period: Period) -> Any:
    return _on_days(Redirection.proposed_at, period)


def _settled_after() -> Any:
    """The redirection was accepted and its project settled (« installé ») in the EPCI it was
    redirected to: a project sent on again and settled elsewhere does not count here."""
    return and_(
        Redirection.status == "acceptee",
        Prospect.stage == "installe",
        Prospect.lead_epci_siren == Redirection.to_epci_siren,
    )


def _redirection_counts(session: Session, period: Period) -> list[Row[Any]]:
    """(from, to, status, decline_reason, settled, count) of the period's redirections."""
    settled = _settled_after().label("settled")
    return list(
        session.execute(
            select(
                Redirection.from_epci_siren,
                Redirection.to_epci_siren,
                Redirection.status,
                Redirection.decline_reason,
                settled,
                func.count().label("count"),
            )
            .join(Prospect, Prospect.id == Redirection.prospect_id)
            .where(_in_period(period))
            .group_by(
                Redirection.from_epci_siren,
                Redirection.to_epci_siren,
                Redirection.status,
                Redirection.decline_reason,
                settled,
            )
        )
    )


def _project_sums(session: Session, period: Period) -> list[Row[Any]]:
    """(siren, direction, planned jobs, settled hectares) of the distinct projects each EPCI
    received ("in") or sent ("out") in the period: a project proposed twice to the same EPCI
    counts once."""
    redirected = (
        select(
            Redirection.from_epci_siren.label("origin"),
            Redirection.to_epci_siren.label("target"),
            Redirection.prospect_id,
            _settled_after().label("settled"),
        )
        .join(Prospect, Prospect.id == Redirection.prospect_id)
        .where(_in_period(period))
        .cte("redirected")
    )
    ends = union_all(
        *(
            select(
                column.label("siren"),
                literal(direction).label("direction"),
                redirected.c.prospect_id,
                func.bool_or(redirected.c.settled).label("settled"),
            ).group_by(column, redirected.c.prospect_id)
            for column, direction in ((redirected.c.target, "in"), (redirected.c.origin, "out"))
        )
    ).subquery("ends")
    return list(
        session.execute(
            select(
                ends.c.siren,
                ends.c.direction,
                func.coalesce(func.sum(Prospect.jobs_planned), 0),
                func.coalesce(func.sum(Terrain.terr_surf_brute).filter(ends.c.settled), 0),
            )
            .join(Prospect, Prospect.id == ends.c.prospect_id)
            .outerjoin(Terrain, Terrain.terr_id == Prospect.terr_id)
            .group_by(ends.c.siren, ends.c.direction)
        )
    )


def _exposure(session: Session, period: Period) -> dict[str, float]:
    """The exposure of the EPCIs whose plots the period's logged searches ranked: each
    result at rank r of a run's top LOGGED_RESULTS weighs 1 / log2(1 + r)."""
    # 1 / log2(1 + r) = ln 2 / ln(1 + r), in double precision (PostgreSQL's two-argument
    # log is for numeric).
    weight = math.log(2) / func.ln(SearchResult.rank + 1)
    rows = session.execute(
        select(SearchResult.epci_siren, func.sum(weight))
        .join(SearchRun, SearchRun.id == SearchResult.run_id)
        .where(_on_days(SearchRun.ran_at, period), SearchResult.rank <= LOGGED_RESULTS)
        .group_by(SearchResult.epci_siren)
    )
    return {siren: float(exposure) for siren, exposure in rows}


def _agreements_in_force(session: Session) -> Iterable[Row[Any]]:
    return session.execute(
        select(AgreementParty.epci_siren, func.count())
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .where(Agreement.status == IN_FORCE)
        .group_by(AgreementParty.epci_siren)
    )


def _hectares_on_sale(session: Session) -> Iterable[Row[Any]]:
    """The inventory's own figure: each park's surf_disponible (site_summary), by EPCI."""
    return session.execute(
        select(Site.site_epci_siren, func.sum(site_summary.c.surf_disponible))
        .join(site_summary, site_summary.c.site_id == Site.site_id)
        .group_by(Site.site_epci_siren)
    )


# --- Adding up -----------------------------------------------------------------------------


def _add_counts(by_siren: Mapping[str, EpciBalance], counted: Iterable[Row[Any]]) -> None:
    for origin, target, status, reason, settled, count in counted:
        by_siren[origin].sent += count
        received = by_siren[target]
        received.received += count
        answer = ANSWERS[status]
        setattr(received, answer, getattr(received, answer) + count)
        if reason is not None:
            received.declined_by_reason[reason] += count
        if settled:
            received.installed += count


def _add_projects(by_siren: Mapping[str, EpciBalance], session: Session, period: Period) -> None:
    for siren, direction, jobs, hectares in _project_sums(session, period):
        balance = by_siren[siren]
        setattr(balance, f"jobs_{direction}", int(jobs))
        setattr(balance, f"hectares_{direction}", Decimal(hectares))


def _add_shares(epcis: list[EpciBalance], exposure: Mapping[str, float]) -> None:
    """Each EPCI's share of the network's land on sale, of the exposure in its searches and of
    its settled redirections (None when the network has none: no share of nothing)."""
    land = sum(epci.hectares_on_sale for epci in epcis)
    exposed = sum(exposure.values())
    settled = sum(epci.installed for epci in epcis)
    for epci in epcis:
        epci.land_share = float(epci.hectares_on_sale / land) if land else None
        epci.exposure_share = float(exposure.get(epci.siren, 0) / exposed) if exposed else None
        epci.success_share = epci.installed / settled if settled else None


def _imbalances(epcis: Iterable[EpciBalance]) -> list[Imbalance]:
    """The EPCIs whose exposure share and land share differ by more than the threshold."""
    return [
        Imbalance(epci.siren, epci.nom, epci.exposure_share, epci.land_share)
        for epci in epcis
        if epci.exposure_share is not None
        and epci.land_share is not None
        and abs(epci.exposure_share - epci.land_share) > NEUTRALITY_THRESHOLD
    ]


def _flows(counted: Iterable[Row[Any]], order: list[str]) -> list[Flow]:
    """One flow per (from, to) with redirections in the period, in the EPCIs' order."""
    proposed: Counter[tuple[str, str]] = Counter()
    accepted: Counter[tuple[str, str]] = Counter()
    installed: Counter[tuple[str, str]] = Counter()
    for origin, target, status, _reason, settled, count in counted:
        pair = (origin, target)
        proposed[pair] += count
        accepted[pair] += count if status == "acceptee" else 0
        installed[pair] += count if settled else 0
    rank = {siren: index for index, siren in enumerate(order)}
    return [
        Flow(origin, target, count, accepted[(origin, target)], installed[(origin, target)])
        for (origin, target), count in sorted(
            proposed.items(), key=lambda item: (rank[item[0][0]], rank[item[0][1]])
        )
    ]
