"""The matching engine for scripts: POST the needs as JSON, get the ranked plots (docs/api.md).

Answers in English, like the ``foncier match`` command. The body is the needs
(foncier/matching/needs.schema.json); the answer is the command's JSON.

CSRF: these POSTs only read, and they take JSON only. A page of another site can make a
browser send a form (urlencoded, multipart or text/plain), which is refused here (415), but
cannot send ``application/json`` without a CORS preflight, which this application never
grants; and it could not read the answer anyway. So the check of Flask-WTF's CSRFProtect,
which would require scripts to scrape a token, is lifted for these views only; the session
cookie (or a sign-in) is still required.

Limits: the body is at most MAX_BODY_BYTES (413 beyond); a body that nests too deeply or
holds numbers too long or too large to compute with is refused with a 400, like any invalid
needs (foncier.matching.needs.read_needs_json bounds it before parsing), and never reaches the
engine's arithmetic as a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from flask import Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from foncier.inventory.features import InvalidParameterError
from foncier.matching import Needs, NeedsError, match, parse_needs, read_needs_json, why_not
from foncier.matching.engine import DEFAULT_LIMIT
from foncier.web.api.views import INTEGER, api, check_parameters
from foncier.web.database import db_session

MAX_LIMIT: Final = 1000
# Needs fit in a few hundred bytes: 64 KB leaves room and keeps parsing and checking cheap.
MAX_BODY_BYTES: Final = 64 * 1024
TOO_LARGE: Final = (
    f"the body is larger than {MAX_BODY_BYTES // 1024} KB ({MAX_BODY_BYTES} bytes): "
    "send the needs alone"
)
TOO_BIG_NUMBERS: Final = "a number in the needs is too large to compute with"


@api.post("/match")
def match_plots() -> Response:
    """The needs in the body -> the best plots of the network, explained (?limit=1..1000)."""
    check_parameters(frozenset({"limit"}))
    limit = _limit()
    needs = _needs()
    with _refusing_overflows():
        return jsonify(match(db_session(), needs, limit=limit).to_json())


@api.post("/match/why/<terr_id>")
def why_not_plot(terr_id: str) -> Response:
    """The needs in the body -> why this plot is not among the results (or its rank)."""
    check_parameters(frozenset())
    needs = _needs()
    with _refusing_overflows():
        return jsonify(why_not(db_session(), needs, terr_id).to_json())


@api.record_once
def _lift_csrf_check(state: BlueprintSetupState) -> None:
    csrf = state.app.extensions["csrf"]
    csrf.exempt(match_plots)
    csrf.exempt(why_not_plot)


@api.errorhandler(NeedsError)
def _invalid_needs(error: NeedsError) -> tuple[Response, int]:
    """A 400 listing every problem with the needs, each with its path in the JSON."""
    return jsonify(
        code="Bad Request",
        description=f"invalid needs: {error}",
        errors=[{"path": issue.path, "message": issue.english} for issue in error.issues],
    ), 400


def _needs() -> Needs:
    """The needs of the JSON body; NeedsError when they cannot be used."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "send the needs as a JSON body with the header Content-Type: application/json"
        )
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(TOO_LARGE)
    # Also bounds a body sent without Content-Length (chunked): reading stops at the limit.
    request.max_content_length = MAX_BODY_BYTES
    try:
        data = read_needs_json(request.get_data().decode("utf-8-sig"))
    except RequestEntityTooLarge:
        raise RequestEntityTooLarge(TOO_LARGE) from None
    except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
        raise BadRequest("the body is not valid JSON") from None
    return parse_needs(data)


@contextmanager
def _refusing_overflows() -> Iterator[None]:
    """Numbers that the checks let through but that overflow a computation are the client's
    mistake: a 400, not a 500."""
    try:
        yield
    except OverflowError:
        raise BadRequest(TOO_BIG_NUMBERS) from None


def _limit() -> int:
    text = request.args.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    # Plain ASCII digits, few enough that int() is cheap: more are out of range anyway.
    value = int(text) if INTEGER.fullmatch(text) and len(text) <= len(str(MAX_LIMIT)) else 0
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidParameterError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {text!r}")
    return value
