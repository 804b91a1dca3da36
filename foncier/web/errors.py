"""Errors as French pages, or as JSON under the API's prefix."""

from __future__ import annotations

import time
from typing import Final

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    ServiceUnavailable,
)

from foncier.core.errors import FoncierError, NotFoundError, PermissionDeniedError
from foncier.inventory.features import InvalidParameterError

TITLES: Final = {
    400: "Requête incorrecte",
    401: "Connexion nécessaire",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Envoi trop volumineux",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}
EXPLANATIONS: Final = {
    400: "Les paramètres de la demande ne sont pas valides.",
    404: "La page demandée n’existe pas ou a été déplacée. Vérifiez l’adresse, ou repartez "
    "de la carte ou de la liste des parcs.",
    401: "Connectez-vous pour accéder à cette page.",
    403: "Vous n’avez pas les droits nécessaires pour cette action.",
    405: "Cette adresse n’accepte pas ce type de requête.",
    413: "Les fichiers ou les données envoyés dépassent la taille que la plateforme accepte : "
    "rien n’a été enregistré. Envoyez un fichier plus petit, ou en plusieurs fois.",
    500: "Une erreur inattendue s’est produite. Réessayez dans quelques instants ; si le "
    "problème persiste, prévenez l’administrateur de la plateforme.",
    503: "La base de données de la plateforme ne répond pas : ce que vous faisiez n’a pas été "
    "enregistré. Réessayez dans quelques instants ; si le problème persiste, prévenez "
    "l’administrateur de la plateforme.",
}
# How long to wait before trying again when the database does not answer.
RETRY_AFTER_S: Final = 30
# A body refused as too large is still read (and dropped) before the answer, up to these
# bounds: see read_refused_body.
REFUSED_BODY_MAX_BYTES: Final = 2**30
REFUSED_BODY_MAX_S: Final = 30
READ_CHUNK_BYTES: Final = 2**20
# The core's typed errors that a request can cause, and the HTTP errors they become.
DOMAIN_ERRORS: Final[dict[type[FoncierError], type[HTTPException]]] = {
    NotFoundError: NotFound,
    PermissionDeniedError: Forbidden,
    InvalidParameterError: BadRequest,
}
CSRF_EXPLANATION: Final = (
    "Le formulaire a expiré ou ne provient pas de cette plateforme. Rechargez la page et "
    "recommencez."
)


def init_app(app: Flask, *, api_prefix: str) -> None:
    def is_api_request() -> bool:
        return request.path == api_prefix or request.path.startswith(api_prefix + "/")

    # Unhandled exceptions reach this handler too, as a plain InternalServerError: Flask logs
    # the original, the page tells nothing about it.
    def handle_http_error(error: HTTPException) -> tuple[Response | str, int]:
        code = error.code or 500
        if is_api_request():
            return jsonify(code=error.name, description=error.description), code
        explanation = CSRF_EXPLANATION if isinstance(error, CSRFError) else None
        return render_error_page(code, explanation), code

    def handle_domain_error(error: FoncierError) -> tuple[Response | str, int]:
        http_error = http_error_for(error)(str(error))
        if isinstance(error, PermissionDeniedError) and not is_api_request():
            # The core words its refusals in French for the person refused: say why.
            return render_error_page(403, str(error)), 403
        return handle_http_error(http_error)

    def handle_lost_database(error: DBAPIError) -> tuple[Response | str, int]:
        if not connection_lost(error):
            raise error  # a bug, not an outage: Flask's 500
        current_app.logger.error("the database does not answer: %s", error.orig)
        body, code = handle_http_error(ServiceUnavailable())
        response = current_app.make_response((body, code))
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response, code

    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_lost_database)
    app.after_request(read_refused_body)
    for domain_error in DOMAIN_ERRORS:
        app.register_error_handler(domain_error, handle_domain_error)


def read_refused_body(response: Response) -> Response:
    """Read, and drop, the body of a request refused for its size before answering.

    Werkzeug refuses a body beyond MAX_CONTENT_LENGTH without reading it; the server then
    closes a connection the browser is still sending on, and the browser shows « connection
    reset » instead of the page that says why. Reading what was sent lets the answer
    through. Bounded in bytes and time: beyond them, the connection is closed as before.
    (Behind a reverse proxy, which receives the whole body first, this is quick.)
    """
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    refused = response.status_code == 413 or (limit is not None and (length or 0) > limit)
    if not refused or length is None or length > REFUSED_BODY_MAX_BYTES:
        return response
    stream = request.environ["wsgi.input"]
    deadline = time.monotonic() + REFUSED_BODY_MAX_S
    remaining = length
    while remaining > 0 and time.monotonic() < deadline:
        # Never more than the announced length: some servers' streams would then block.
        chunk = stream.read(min(READ_CHUNK_BYTES, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
    return response


def connection_lost(error: DBAPIError) -> bool:
    """The database stopped answering (server down, network cut), as opposed to a statement
    it refused."""
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)


def http_error_for(error: FoncierError) -> type[HTTPException]:
    """The HTTP error of the nearest mapped class: Flask also sends subclasses here."""
    mapped = next(cls for cls in type(error).__mro__ if cls in DOMAIN_ERRORS)
    return DOMAIN_ERRORS[mapped]


def render_error_page(code: int, explanation: str | None = None) -> str:
    title = TITLES.get(code, f"Erreur {code}")
    explanation = explanation or EXPLANATIONS.get(code, "")
    if code < 500:
        return render_template("errors.html", code=code, title=title, explanation=explanation)
    # The server's own failure may be the database's: the page must not query it, not even
    # for the signed-in person's name; and if rendering fails all the same, a bare page in
    # French rather than the web server's « Internal Server Error ».
    try:
        return render_template(
            "errors.html",
            code=code,
            title=title,
            explanation=explanation,
            current_user=None,
            current_actor=None,
        )
    except Exception:
        current_app.logger.exception("the error page %s could not be rendered", code)
        return BARE_PAGE.format(code=code, title=escape(title), explanation=escape(explanation))


BARE_PAGE: Final = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title}</title></head><body><main><p>Erreur {code}</p><h1>{title}</h1>"
    "<p>{explanation}</p></main></body></html>"
)
