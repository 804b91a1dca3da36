"""The forms of redirections and of the case's moves, with French labels and messages.

Whether the values hold together (a plot of the right EPCI, on sale; a date not in the
future; a reason for « autre ») is the core's decision (foncier.prospects.cases,
foncier.redirections.proposals): the views put its messages beside these fields.
"""

from __future__ import annotations

from typing import Any, Final

from wtforms import Field, IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from foncier.redirections.proposals import DECLINE_REASON_LABELS
from foncier.web.auth.forms import FrenchForm
from foncier.web.inventory.edit_forms import DayField, VersionField
from foncier.web.matching.forms import CheckboxesField

MISSING_VERSION: Final = (
    "Le formulaire ne dit pas quelle version du projet vous avez lue : rien n’a été "
    "enregistré. Rechargez la page du projet et recommencez."
)
MESSAGE_MAX: Final = 5_000
JOBS_MAX: Final = 100_000


def _text_area(label: str, rows: int, too_long: str = "Texte trop long.") -> TextAreaField:
    return TextAreaField(
        label, validators=[Length(max=MESSAGE_MAX, message=too_long)], render_kw={"rows": rows}
    )


class PlotCheckboxesField(CheckboxesField):
    """The plots to propose, one checkbox each."""

    def pre_validate(self, form: Any) -> None:
        """The core checks the plots (they change between the page and the post)."""


class RedirectForm(FrenchForm):
    # Its choices are the core's (proposals.proposal_targets); the core refuses the others
    # with a message that says why, rather than the form's « not a valid choice ».
    to_epci_siren = SelectField("EPCI à qui proposer le projet", choices=[], validate_choice=False)
    terr_ids = PlotCheckboxesField("Terrains de la sélection à proposer", choices=[])
    message = _text_area("Message aux référents de cet EPCI", 5, too_long="Message trop long.")


class StageForm(FrenchForm):
    """A move of the case; each move's form shows only the fields it needs."""

    version = VersionField()
    terr_id = SelectField("Terrain", choices=[], validate_choice=False)
    on = DayField("Date d’installation")
    jobs_created = IntegerField(
        "Emplois créés",
        validators=[
            Optional(),
            NumberRange(min=0, max=JOBS_MAX, message="Nombre d’emplois entre 0 et 100 000."),
        ],
        render_kw={"inputmode": "numeric"},
    )
    reason = _text_area("Pourquoi le projet est perdu", 3)
    note = _text_area("Note (facultative)", 2)

    def validate_version(self, field: Field) -> None:
        """A move says which version of the project it was decided on: without it, the
        check that nobody moved the project meanwhile cannot be made."""
        if field.data is None:
            raise FieldError(MISSING_VERSION)


class AnswerForm(FrenchForm):
    """Accept or withdraw: the version of the proposal the person read."""

    version = VersionField()


class DeclineForm(FrenchForm):
    version = VersionField()
    reason = SelectField(
        "Motif du refus",
        choices=[
            SelectChoice("", "Choisissez un motif"),
            *(SelectChoice(code, label) for code, label in DECLINE_REASON_LABELS.items()),
        ],
        validators=[InputRequired(message="Choisissez un motif dans la liste.")],
    )
    note = _text_area("Précisions (obligatoires pour « Autre raison »)", 3)


class ReadForm(FrenchForm):
    """Marking a message read: the form only carries its CSRF token."""
