"""Forms of the sign-in, password and account pages.

Declarative checks (required, lengths, confirmation) live here; the rules the core enforces
(password length, unique e-mail, known EPCI, who may give which role) come back as a
ValidationError that ``show_errors`` puts beside the fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation

from foncier.accounts.passwords import MIN_PASSWORD_LENGTH
from foncier.core.errors import ValidationError
from foncier.core.permissions import Role

PASSWORD_HELP = (
    f"Au moins {MIN_PASSWORD_LENGTH} caractères. Une phrase de plusieurs mots est plus sûre "
    "et plus facile à retenir qu’un mot compliqué."
)


class FrenchForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")


def show_errors(form: FlaskForm, error: ValidationError) -> None:
    """Put the core's messages beside the fields they are about, the others above the form."""
    for name, message in error.errors.items():
        field: Field | None = getattr(form, name, None)
        if isinstance(field, Field):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        "Nouveau mot de passe",
        validators=[
            DataRequired("Choisissez un mot de passe."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=f"Entre {MIN_PASSWORD_LENGTH} et 1 024 caractères.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        "Confirmation du nouveau mot de passe",
        validators=[
            DataRequired("Saisissez le mot de passe une seconde fois."),
            EqualTo("password", "Les deux saisies du mot de passe diffèrent."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirmation


class LoginForm(FrenchForm):
    email = EmailField(
        "Adresse électronique",
        validators=[DataRequired("Indiquez votre adresse électronique."), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired("Indiquez votre mot de passe."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class PasswordChangeForm(FrenchForm):
    current_password = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired("Indiquez votre mot de passe actuel."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirmation = _new_password_fields()


class SetPasswordForm(FrenchForm):
    password, confirmation = _new_password_fields()


class AccountForm(FrenchForm):
    email = EmailField(
        "Adresse électronique",
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired("Indiquez l’adresse électronique de la personne."),
                    Length(max=254, message="254 caractères au plus.")],
    )  # fmt: skip
    nom = StringField(
        "Nom",
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired("Indiquez le nom de la personne."),
                    Length(max=200, message="200 caractères au plus.")],
    )  # fmt: skip
    role = SelectField("Rôle", choices=[], validate_choice=False)
    epci_siren = SelectField("EPCI du référent", choices=[], default="", validate_choice=False)

    def set_choices(self, roles: list[Role], epcis: list[tuple[str, str]]) -> None:
        """The roles this person may give, and every EPCI (SIREN, name)."""
        self.role.choices = [(role.value, role.label) for role in roles]
        self.epci_siren.choices = [("", "— aucun (rôle à l’échelle du réseau) —"), *epcis]

    def validate_role(self, field: SelectField) -> None:
        if field.data not in {value for value, _label in field.choices}:
            raise StopValidation("Choisissez un des rôles proposés.")

    def validate_epci_siren(self, field: SelectField) -> None:
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise StopValidation("Choisissez un des EPCI proposés.")
        if self.role.data == Role.REFERENT and not field.data:
            raise StopValidation("Un référent est rattaché à un EPCI : choisissez-le.")
        if self.role.data != Role.REFERENT and field.data:
            raise StopValidation("Seul un référent est rattaché à un EPCI : laissez « aucun ».")

    @property
    def chosen_role(self) -> Role:
        return Role(self.role.data)


class ConfirmForm(FrenchForm):
    """A button that confirms an action: only the CSRF token travels."""
