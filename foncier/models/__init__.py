"""SQLAlchemy models of foncier; importing this package registers every table on Base.metadata."""

from foncier.models.accounts import ROLES, LoginAttempt, PasswordToken, User, WebSession
from foncier.models.agreements import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementRedirection,
)
from foncier.models.audit import AuditEvent
from foncier.models.base import SRID, WGS84, Base
from foncier.models.cadastre import CadastralParcel
from foncier.models.imports import PendingImportFile
from foncier.models.inventory import Etablissement, Owner, Site, Terrain, etablissement_terrain
from foncier.models.mail import OutboxMessage
from foncier.models.matching import MatchingPlot, MatchingPlotCount
from foncier.models.meetings import Meeting, MeetingAttendance, MeetingInvitee
from foncier.models.prospects import (
    CaseEvent,
    Notification,
    Prospect,
    RedirectedPlot,
    Redirection,
    ShortlistedPlot,
)
from foncier.models.search_log import SearchResult, SearchRun
from foncier.models.territory import Commune, Departement, Epci
from foncier.models.zones import ConstraintZone

__all__ = [
    "ROLES",
    "SRID",
    "WGS84",
    "Agreement",
    "AgreementDocument",
    "AgreementParty",
    "AgreementRedirection",
    "AuditEvent",
    "Base",
    "CadastralParcel",
    "CaseEvent",
    "Commune",
    "ConstraintZone",
    "Departement",
    "Epci",
    "Etablissement",
    "LoginAttempt",
    "MatchingPlot",
    "MatchingPlotCount",
    "Meeting",
    "MeetingAttendance",
    "MeetingInvitee",
    "Notification",
    "OutboxMessage",
    "Owner",
    "PasswordToken",
    "PendingImportFile",
    "Prospect",
    "RedirectedPlot",
    "Redirection",
    "SearchResult",
    "SearchRun",
    "ShortlistedPlot",
    "Site",
    "Terrain",
    "User",
    "WebSession",
    "etablissement_terrain",
]
