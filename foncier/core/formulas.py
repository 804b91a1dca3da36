"""Text that a spreadsheet would run as a formula, refused wherever a person types text.

A CNIG file is exported byte for byte (its cells are the standard's values, no quote added),
so a park named ``=HYPERLINK("http://evil.example","x")`` would become a live link in the
spreadsheet of whoever opens the export. Such text is therefore refused at input — forms,
imports, the API — by the one rule here, ``looks_like_formula``; ``formula_problems`` gives a
validator its French messages, and ``formula_cells`` lists the rows stored before the rule
(``foncier check formulas``). docs/data-formats.md, « Text that looks like a formula », gives
the rule with examples.

The rule follows OWASP's CSV injection advice (a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) with one refinement, so that French data passes: after a leading
``+`` or ``-``, only what can act is refused — a function (``HYPERLINK(``, ``SOMME(``), a cell
reference (``A1``, ``$B$2``), another sheet or file (``Feuil1!``), a program (``cmd|``), or a
second sign. A phone number (« +33 2 47 00 00 00 »), a negative number (« -12,5 »), a dash
used as a bullet (« - lot 3 ») can at worst be computed as a number: they stay as they are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from foncier.models import Base

FORMULA_MESSAGE: Final = (
    "Ce texte commence comme une formule de tableur (=, +, -, @…) : retirez ou changez le "
    "premier caractère (par exemple « – » au lieu de « - »)."
)
# What always starts a formula, even after spaces (spreadsheets trim them).
ALWAYS: Final = frozenset("=@")
SIGNS: Final = frozenset("+-")
# Some tools drop a leading tab or carriage return, others take it as part of the formula:
# OWASP refuses both, even before harmless text.
HIDDEN_STARTS: Final = frozenset("\t\r")
# Where a formula expects an operand: its start, or after an operator or an opening bracket.
_OPERAND: Final = r"(?:^|[-+*/^&=<>(;,:])\s*"
# A function call: a name (SOMME, HYPERLINK, _xlfn.WEBSERVICE, ANNÉE) and its bracket; some
# spreadsheets accept spaces between them. A cell reference: A1, $B$2, XFD1048576, before the
# end or an operator.
_ACTIVE_OPERAND: Final = re.compile(
    _OPERAND + r"(?:[^\W\d]\w*(?:\.\w+)*\s*\(|\$?[A-Za-z]{1,3}\$?\d+\s*(?:$|[-+*/^&=<>:;,)]))"
)
# Anywhere: a program called through DDE (cmd|'/C calc'), another sheet or file (Feuil1!A1,
# 'C:\[x.xlsx]S'!A1).
_ACTIVE_ANYWHERE: Final = re.compile(r"\w\s*\||[\w'\]]!")
SQL_CANDIDATE: Final = r"^[[:space:]]*[^[:alnum:][:space:]]|^[\t\r]"
PREVIEW_CHARS: Final = 60


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula when it reads it in a cell.

    Refused: a tab or carriage return first; otherwise, after leading spaces, ``=`` or ``@``;
    or ``+``/``-`` followed by another sign, ``=`` or ``@``, or by a function call, a cell
    reference, a sheet or file reference, or a DDE call. Full-width forms (``＝``) count as
    their ASCII characters.
    """
    if text[:1] in HIDDEN_STARTS:
        return True
    stripped = unicodedata.normalize("NFKC", text).lstrip()
    first, rest = stripped[:1], stripped[1:]
    if first in ALWAYS:
        return True
    if first not in SIGNS:
        return False
    operand = rest.lstrip()
    if operand[:1] in ALWAYS | SIGNS:
        return True
    return bool(_ACTIVE_OPERAND.search(rest) or _ACTIVE_ANYWHERE.search(rest))


def formula_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """FORMULA_MESSAGE for every text of ``values`` that looks like a formula, by name."""
    return {
        name: FORMULA_MESSAGE
        for name, value in values.items()
        if isinstance(value, str) and looks_like_formula(value)
    }


@dataclass(frozen=True)
class FormulaCell:
    """A stored text that looks like a formula: where it is, and its start."""

    table: str
    key: str
    column: str
    value: str

    @property
    def preview(self) -> str:
        shown = self.value if len(self.value) <= PREVIEW_CHARS else self.value[:PREVIEW_CHARS] + "…"
        return repr(shown)


def formula_cells(session: Session) -> list[FormulaCell]:
    """Every text of every table that looks like a formula, by table, key and column: rows
    stored before the rule, or written around the platform's checks."""
    found = []
    for table in sorted(Base.metadata.tables.values(), key=lambda table: table.name):
        key = list(table.primary_key.columns)
        for column in [c for c in table.columns if isinstance(c.type, String)]:
            # SQL keeps the texts whose first character, or first after spaces, is neither a
            # letter nor a digit; the rule then decides.
            candidates = session.execute(
                select(*key, column).where(column.regexp_match(SQL_CANDIDATE)).order_by(*key)
            )
            for *ids, value in candidates:
                if looks_like_formula(value):
                    found.append(
                        FormulaCell(table.name, "/".join(map(str, ids)), column.name, value)
                    )
    return found
