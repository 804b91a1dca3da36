"""EPCI names in French sentences, and French text in the order people look for it.

An EPCI's official name sometimes needs an article (« la Communauté de communes de
Gâtine-Racan ») and sometimes not (« Tours Métropole Val de Loire »): « proposé à la
Communauté de communes de Gâtine-Racan », « proposé à Tours Métropole Val de Loire ». And a
list sorted on the official name puts « Communauté de communes du Castelrenaudais » after
« … Touraine-Est Vallées »: people look for « Castelrenaudais ».
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

# ICU's French collation sorts "Écoparc" among the E and "de Gâtine" among the D, where the
# databases' C collation would put accented and lower-case initials after Z.
FRENCH_COLLATION: Final = "fr-x-icu"

# Names that start with a common noun take the article: « la Communauté de communes … ».
FEMININE_NOUNS: Final = ("Communauté", "Métropole")
# What to skip when sorting: the kind of EPCI and the article or preposition after it.
KIND_PREFIX: Final = re.compile(
    r"^(communauté (de communes|d['’]agglomération|urbaine)|métropole)\s+"
    r"(de la |de l['’]|des |du |de |d['’])?",
    re.IGNORECASE,
)


def epci_named(nom: str) -> str:
    """The EPCI as the subject or object of a sentence: « la Communauté de communes de X »."""
    return f"la {nom}" if nom.startswith(FEMININE_NOUNS) else nom


def to_epci(nom: str) -> str:
    """« à la Communauté de communes de X », « à Tours Métropole Val de Loire »."""
    return f"à {epci_named(nom)}"


def by_epci(nom: str) -> str:
    """« par la Communauté de communes de X », « par Tours Métropole Val de Loire »."""
    return f"par {epci_named(nom)}"


def of_epci(nom: str) -> str:
    """« de la Communauté de communes de X », « de Tours Métropole Val de Loire »."""
    return f"de {epci_named(nom)}"


def between(noms: Sequence[str]) -> str:
    """« entre X et Y », « entre X, Y et Z » (names with their article)."""
    named = [epci_named(nom) for nom in noms]
    if len(named) < 2:
        return "".join(named)
    return "entre " + ", ".join(named[:-1]) + " et " + named[-1]


def epci_sort_key(nom: str) -> str:
    """The name as people look it up: without its kind and article, accents and case."""
    short = KIND_PREFIX.sub("", nom.strip())
    plain = unicodedata.normalize("NFKD", short).encode("ascii", "ignore").decode()
    return plain.casefold()
