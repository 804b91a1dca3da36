"""Texts from outside (JSON, WKT) checked against size, nesting and number bounds before a
parser reads them.

Python's json module recurses once per nesting level (50,000 ``[`` raise RecursionError),
converts integers of more than 4,300 digits to a ValueError, and GEOS's WKT reader recurses
too. What a person or a file can send is therefore checked first, in linear time and without
recursion: the length of the text, the depth of its brackets (those inside JSON strings do
not count) and the digits of every number. A text beyond a bound is refused with
``TextLimitError``, whose message says which bound in French and in English; each caller turns
it into what it does for any unreadable input (a line of an import report, a form error, a 400).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np

from foncier.core.errors import FoncierError

# No geometry nor needs document nests beyond a dozen levels (a FeatureCollection's
# MultiPolygon: 8); 64 leaves room for any honest document and is far below any recursion limit.
MAX_DEPTH: Final = 64
# Coordinates in metres to the micrometre have about 15 digits, a float about 17 significant.
MAX_NUMBER_DIGITS: Final = 40

# A JSON string, escapes included; an unterminated one runs to the end of the text (the parser
# then refuses it). Unrolled so that the regular expression engine never backtracks.
_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# Every ASCII digit as a 1, every other byte as a 0 (see _has_number_longer).
_DIGITS_AS_ONES: Final = bytes(ord("1") if 0x30 <= byte <= 0x39 else 0 for byte in range(256))


@dataclass(frozen=True)
class Brackets:
    """The characters that open and close a nesting level in a kind of text."""

    opening: str
    closing: str
    # Their French name, for the message that asks to check them.
    french: str


JSON_BRACKETS: Final = Brackets("[{", "]}", "crochets et accolades")
WKT_BRACKETS: Final = Brackets("(", ")", "parenthèses")


@dataclass(frozen=True)
class TextLimits:
    """The bounds of one kind of text; ``name`` says what it is in messages (GeoJSON, WKT)."""

    name: str
    max_chars: int
    max_depth: int = MAX_DEPTH
    max_number_digits: int = MAX_NUMBER_DIGITS


class TextLimitError(FoncierError):
    """A text is beyond one of its bounds; ``french`` and ``english`` say which."""

    def __init__(self, french: str, english: str) -> None:
        super().__init__(english)
        self.french = french
        self.english = english


def load_json(text: str, limits: TextLimits) -> Any:
    """``json.loads(text)`` once the text is within ``limits`` (TextLimitError otherwise);
    json.JSONDecodeError still says where a text within the bounds is malformed."""
    _check_json(text, limits)
    return json.loads(text)


def _check_json(text: str, limits: TextLimits) -> None:
    _check_size(text, limits)
    # Brackets and digits inside strings are text, not structure.
    _check_structure(_JSON_STRING.sub('""', text), JSON_BRACKETS, limits)


def check_wkt(text: str, limits: TextLimits) -> None:
    """WKT (or EWKT) has no strings: every parenthesis nests and every digit run is a number."""
    _check_size(text, limits)
    _check_structure(text, WKT_BRACKETS, limits)


def _check_size(text: str, limits: TextLimits) -> None:
    if len(text) > limits.max_chars:
        french, english = _size(limits.max_chars)
        raise TextLimitError(
            f"Le {limits.name} est trop volumineux (plus de {french}) : simplifiez-le ou "
            "découpez-le.",
            f"The {limits.name} is too large (more than {english}): simplify or split it.",
        )


def _check_structure(skeleton: str, brackets: Brackets, limits: TextLimits) -> None:
    # Brackets and digits are ASCII, and UTF-8 never puts an ASCII byte inside another
    # character: the bytes can be scanned by bytes.translate, in C.
    data = skeleton.encode("utf-8", "replace")
    if _depth(data, brackets) > limits.max_depth:
        raise TextLimitError(
            f"Le {limits.name} est imbriqué trop profondément (plus de {limits.max_depth} "
            f"niveaux) : vérifiez ses {brackets.french}.",
            f"The {limits.name} nests too deeply (more than {limits.max_depth} levels): "
            "check its brackets.",
        )
    if _has_number_longer(data, limits.max_number_digits):
        raise TextLimitError(
            f"Un nombre du {limits.name} a trop de chiffres (plus de "
            f"{limits.max_number_digits}) : arrondissez-le.",
            f"A number of the {limits.name} has too many digits (more than "
            f"{limits.max_number_digits}): round it.",
        )


def _depth(data: bytes, brackets: Brackets) -> int:
    """The deepest nesting: the running sum of +1 and -1 over the brackets alone, by numpy (a
    loop in Python would take seconds on ten million brackets)."""
    steps, others = _step_table(brackets)
    kept = data.translate(steps, others)
    return int(np.frombuffer(kept, dtype=np.int8).cumsum(dtype=np.int32).max(initial=0))


@cache
def _step_table(brackets: Brackets) -> tuple[bytes, bytes]:
    """The bytes.translate table (+1 for an opening bracket, -1 as int8 for a closing one) and
    the bytes it deletes: all others."""
    steps = bytearray(256)
    for character in brackets.opening:
        steps[ord(character)] = 1
    for character in brackets.closing:
        steps[ord(character)] = 255
    return bytes(steps), bytes(byte for byte in range(256) if not steps[byte])


def _has_number_longer(data: bytes, digits: int) -> bool:
    """Whether a number has more than ``digits`` digits: signs, points and exponent marks
    deleted and every digit made a 1, a number's digits are one run of 1s (numbers are apart
    by a comma, a space or a bracket in JSON and WKT)."""
    return b"1" * (digits + 1) in data.translate(_DIGITS_AS_ONES, b"-+.eE")


def _size(chars: int) -> tuple[str, str]:
    """« 5 Mo » / "5 MB" (or Ko / KB below a megabyte): a character is a byte in these texts."""
    if chars >= 2**20:
        return f"{chars // 2**20}\u00a0Mo", f"{chars // 2**20} MB"
    return f"{chars // 2**10}\u00a0Ko", f"{chars // 2**10} KB"
