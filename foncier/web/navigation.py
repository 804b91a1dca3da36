"""The main navigation: the pages a signed-in person can reach, in the order of their week.

The menu shows the entries whose endpoint exists and that the person's role may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, g

from foncier.core.permissions import Actor, Role


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    visible: Callable[[Actor], bool]


LINKS: tuple[Link, ...] = (
    Link("inventory.map_page", "Carte", lambda actor: True),
    Link("matching.search", "Recherche de terrain", lambda actor: True),
    Link("prospects.index", "Projets", lambda actor: True),
    Link("redirections.redirection_list", "Redirections", lambda actor: True),
    # Only référents receive proposals and answers: nobody else has an inbox to open.
    Link("redirections.inbox", "Boîte de réception", lambda actor: actor.role is Role.REFERENT),
    Link("inventory.sites", "Parcs d’activités", lambda actor: True),
    Link("transfer.index", "Imports et exports", lambda actor: True),
    Link("agreements.index", "Conventions", lambda actor: True),
    Link("meetings.balances", "Bilans du réseau", lambda actor: True),
    Link("inventory.network_history", "Historique", lambda actor: True),
    Link("auth.accounts", "Comptes", lambda actor: actor.can_manage_accounts),
    Link("auth.outbox", "Messages envoyés", lambda actor: actor.can_manage_accounts),
    Link("auth.password", "Mon mot de passe", lambda actor: True),
)


def init_app(app: Flask) -> None:
    @app.template_global()
    def navigation_links() -> list[tuple[str, str]]:
        actor: Actor | None = g.get("actor")
        if actor is None:
            return []
        endpoints = set(app.view_functions)
        return [
            (link.endpoint, link.label)
            for link in LINKS
            if link.endpoint in endpoints and link.visible(actor)
        ]
