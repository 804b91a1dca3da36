"""Edit forms of parks, plots, quick status changes and owners, with French labels and messages.

The forms read what people type (numbers with a decimal comma, dates, code lists, oui/non) and
keep it on error; whether the values hold together (a plot inside its park, a minimal lot
within the plot...) is the core's decision (foncier.inventory.editing), whose messages the views put
beside the fields. Labels come from foncier.inventory.history.COLUMN_LABELS, the same as the
history's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import DateInput

from foncier.inventory.cnig.labels import UNITS
from foncier.inventory.history import COLUMN_LABELS, COLUMN_TYPES
from foncier.inventory.owners import OWNER_NATURES
from foncier.models import Commune, codelists
from foncier.web.inventory.forms import WITHOUT_SPACES, french_decimal
from foncier.web.inventory.geometry_field import GeometryField

REQUIRED: Final = "Ce champ est obligatoire."
TRI_STATE: Final = {"oui": True, "non": False}
# The database's integers; its decimals are bounded by each column's precision.
MAX_WHOLE_NUMBER: Final = 2**31 - 1


def _label(name: str) -> str:
    """« Superficie totale (ha) »: the column's label, with its unit if it has one."""
    unit = UNITS.get(name)
    return f"{COLUMN_LABELS[name]} ({unit})" if unit else COLUMN_LABELS[name]


def _required(required: bool) -> list[Any]:
    return [InputRequired(REQUIRED)] if required else [Optional()]


# --- fields --------------------------------------------------------------------------------


class VersionField(HiddenField):
    """The version of the record the form was loaded from (optimistic locking)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and valuelist[0]:
            try:
                self.data = int(valuelist[0])
            except ValueError:
                raise ValueError("Version du formulaire illisible : rechargez la page.") from None


class NumberField(StringField):
    """A decimal number typed the French way (« 2,5 », « 1 234,56 ») or with a point."""

    def __init__(self, label: str, column: str, required: bool = False, **kwargs: Any) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off"}
        super().__init__(label, validators=_required(required), render_kw=render_kw, **kwargs)
        # What the column holds: Numeric(12, 4) hectares hold 4 decimals, below 10⁸.
        numeric = COLUMN_TYPES[column]
        self.places: int = numeric.scale
        self.maximum = Decimal(10) ** (numeric.precision - numeric.scale)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        number = french_decimal(valuelist, "Saisissez un nombre, par exemple 2,5.")
        if number is None:
            return
        # Compared before rounding too: rounding 1e40 to the column's decimals overflows.
        if abs(number) >= self.maximum or abs(self._rounded(number)) >= self.maximum:
            raise ValueError(
                f"Saisissez un nombre inférieur à {self.maximum:,f}.".replace(",", "\u202f")
            )
        self.data = self._rounded(number)

    def _rounded(self, number: Decimal) -> Decimal:
        return number.quantize(Decimal(1).scaleb(-self.places))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return format(Decimal(self.data).normalize(), "f").replace(".", ",")


class WholeNumberField(StringField):
    def __init__(self, label: str, **kwargs: Any) -> None:
        render_kw = {"inputmode": "numeric", "autocomplete": "off"}
        super().__init__(label, validators=[Optional()], render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = valuelist[0].translate(WITHOUT_SPACES) if valuelist else ""
        if not text:
            return
        if not (text.isascii() and text.lstrip("-").isdigit()) or abs(int(text)) > MAX_WHOLE_NUMBER:
            raise ValueError("Saisissez un nombre entier, par exemple 250.")
        self.data = int(text)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


class DayField(StringField):
    """A date, from the browser's date picker (AAAA-MM-JJ) or typed as JJ/MM/AAAA."""

    widget = DateInput()

    def __init__(self, label: str, required: bool = False, **kwargs: Any) -> None:
        super().__init__(label, validators=_required(required), **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            return
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                self.data = datetime.strptime(text, pattern).date()
                return
            except ValueError:
                continue
        raise ValueError("Date attendue, par exemple 26/03/2024.")

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.isoformat() if isinstance(self.data, date) else ""


class TriStateField(SelectField):
    """A yes/no attribute the standard lets unknown: « non renseigné », oui, non."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        choices = [SelectChoice("", "non renseigné"), SelectChoice("oui"), SelectChoice("non")]
        super().__init__(label, choices=choices, default="", **kwargs)

    def process_data(self, value: Any) -> None:
        if isinstance(value, bool):
            value = "oui" if value else "non"
        super().process_data(value or "")

    @property
    def value(self) -> bool | None:
        return TRI_STATE.get(self.data or "")


class CodeListField(SelectField):
    """A CNIG code list, stored verbatim; a required one starts on « choisir »."""

    def __init__(self, label: str, values: tuple[str, ...], required: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        blank = "— choisir —" if required else "non renseigné"
        choices = [SelectChoice("", blank), *map(SelectChoice, values)]
        super().__init__(
            label, choices=choices, default="", validators=_required(required), **kwargs
        )

    def process_data(self, value: Any) -> None:
        super().process_data(value or "")

    def pre_validate(self, form: Any) -> None:
        if self.data not in (choice[0] for choice in self.iter_choices()):
            raise ValueError("Choisissez une valeur de la liste.")


def _text(name: str, required: bool = False, max_length: int = 500) -> StringField:
    validators = [*_required(required), Length(max=max_length, message=f"{max_length} "
                  "caractères au plus.")]  # fmt: skip
    return StringField(_label(name), validators=validators, filters=[_strip])


def _code(name: str, required: bool = False) -> CodeListField:
    return CodeListField(_label(name), codelists.CODE_LISTS[name], required=required)


def _number(name: str, required: bool = False) -> NumberField:
    return NumberField(_label(name), name, required=required)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _value_of(field: Field) -> Any:
    if isinstance(field, TriStateField):
        return field.value
    return None if field.data == "" else field.data


# --- the forms -----------------------------------------------------------------------------


class EditForm(FlaskForm):
    """A form whose fields, but its version and CSRF token, are columns of a record."""

    class Meta:
        locales = ("fr_FR", "fr")

    # (title, field names) of the fieldsets, in the order of the page.
    SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def column_fields(self) -> Iterator[Field]:
        for _, names in self.SECTIONS:
            yield from (self[name] for name in names)

    def values(self) -> dict[str, Any]:
        """The typed values, by column, as foncier.inventory.editing takes them."""
        return {field.name: _value_of(field) for field in self.column_fields()}

    def add_errors(self, errors: dict[str, str]) -> None:
        """The core's messages beside their fields; the others above the form."""
        for name, message in errors.items():
            if name in self:
                self[name].errors = [*self[name].errors, message]
            else:
                self.form_errors.append(message)


class SiteForm(EditForm):
    version = VersionField()
    site_nom = _text("site_nom", required=True, max_length=200)
    # The core decides which communes the person may use, and says why not (403).
    site_comm_insee = SelectField(
        "Commune", choices=[], validators=[InputRequired(REQUIRED)], validate_choice=False
    )
    site_type = _code("site_type", required=True)
    site_vocadomi = _code("site_vocadomi", required=True)
    site_etat = _code("site_etat", required=True)
    site_description = TextAreaField(
        _label("site_description"), validators=[Optional(), Length(max=5000)], filters=[_strip]
    )
    pole_id = _text("pole_id", max_length=20)
    site_creation_date = WholeNumberField(_label("site_creation_date"))
    site_quali_territoire = _text("site_quali_territoire")
    site_evol_urba = _code("site_evol_urba")
    site_url = _text("site_url", max_length=2000)
    site_media = _text("site_media", max_length=2000)
    source_producteur = _text("source_producteur")
    site_surf_brute = _number("site_surf_brute", required=True)
    site_surf_utile = _number("site_surf_utile", required=True)
    site_surf_comm_dispo = _number("site_surf_comm_dispo")
    site_surf_projet = _number("site_surf_projet")
    site_nb_etab = WholeNumberField(_label("site_nb_etab"))
    site_nb_emploi = WholeNumberField(_label("site_nb_emploi"))
    site_voca_industrielle = TriStateField(_label("site_voca_industrielle"))
    site_voca_commerciale = TriStateField(_label("site_voca_commerciale"))
    site_voca_tertiaire = TriStateField(_label("site_voca_tertiaire"))
    site_voca_artisanale = TriStateField(_label("site_voca_artisanale"))
    site_voca_touristique = TriStateField(_label("site_voca_touristique"))
    site_voca_portuaire = TriStateField(_label("site_voca_portuaire"))
    site_voca_aeroportuaire = TriStateField(_label("site_voca_aeroportuaire"))
    reseau_eau_potable = TriStateField(_label("reseau_eau_potable"))
    reseau_eau_pluviale = TriStateField(_label("reseau_eau_pluviale"))
    reseau_assainissement = TriStateField(_label("reseau_assainissement"))
    reseau_electrique = TriStateField(_label("reseau_electrique"))
    reseau_gaz = TriStateField(_label("reseau_gaz"))
    reseau_fibre_optique = TriStateField(_label("reseau_fibre_optique"))
    reseau_fret_ferroviaire = TriStateField(_label("reseau_fret_ferroviaire"))
    reseau_fluvial = TriStateField(_label("reseau_fluvial"))
    desserte_tc = TriStateField(_label("desserte_tc"))
    desserte_route_nom = _text("desserte_route_nom")
    autoroute_nom = _text("autoroute_nom")
    autoroute_echang_dist = _number("autoroute_echang_dist")
    gare_nom = _text("gare_nom")
    gare_dist = _number("gare_dist")
    gare_fret_nom = _text("gare_fret_nom")
    gare_fret_dist = _number("gare_fret_dist")
    aeroport_nom = _text("aeroport_nom")
    aeroport_dist = _number("aeroport_dist")
    port_nom = _text("port_nom")
    port_dist = _number("port_dist")
    site_moa_type = _code("site_moa_type", required=True)
    site_moa_nom = _text("site_moa_nom")
    site_moa_amngt = _text("site_moa_amngt")
    site_moa_comm = _text("site_moa_comm")
    site_geomsurf = GeometryField(COLUMN_LABELS["site_geomsurf"], kind="site")

    SECTIONS = (
        (
            "Identification",
            ("site_nom", "site_comm_insee", "site_type", "site_vocadomi", "site_etat",
             "site_description", "pole_id", "site_creation_date", "site_quali_territoire",
             "site_evol_urba", "site_url", "site_media", "source_producteur"),
        ),
        (
            "Surfaces et emplois",
            ("site_surf_brute", "site_surf_utile", "site_surf_comm_dispo", "site_surf_projet",
             "site_nb_etab", "site_nb_emploi"),
        ),
        (
            "Vocations",
            ("site_voca_industrielle", "site_voca_commerciale", "site_voca_tertiaire",
             "site_voca_artisanale", "site_voca_touristique", "site_voca_portuaire",
             "site_voca_aeroportuaire"),
        ),
        (
            "Réseaux",
            ("reseau_eau_potable", "reseau_eau_pluviale", "reseau_assainissement",
             "reseau_electrique", "reseau_gaz", "reseau_fibre_optique",
             "reseau_fret_ferroviaire", "reseau_fluvial"),
        ),
        (
            "Desserte et accès",
            ("desserte_tc", "desserte_route_nom", "autoroute_nom", "autoroute_echang_dist",
             "gare_nom", "gare_dist", "gare_fret_nom", "gare_fret_dist", "aeroport_nom",
             "aeroport_dist", "port_nom", "port_dist"),
        ),
        (
            "Maîtrise d’ouvrage",
            ("site_moa_type", "site_moa_nom", "site_moa_amngt", "site_moa_comm"),
        ),
        ("Périmètre", ("site_geomsurf",)),
    )  # fmt: skip

    def set_communes(self, communes: list[Commune]) -> None:
        """The communes where the person may place the park, grouped by EPCI if several."""
        groups: dict[str | None, list[SelectChoice]] = {None: [SelectChoice("", "— choisir —")]}
        for commune in sorted(communes, key=lambda c: (c.epci.nom, c.nom)):
            label = f"{commune.nom} ({commune.insee})"
            groups.setdefault(commune.epci.nom, []).append(SelectChoice(commune.insee, label))
        if len(groups) <= 2:  # one EPCI: a plain list
            self.site_comm_insee.choices = [choice for group in groups.values() for choice in group]
        else:
            self.site_comm_insee.choices = groups


class TerrainForm(EditForm):
    version = VersionField()
    terr_refcad = _text("terr_refcad", max_length=2000)
    terr_surf_brute = _number("terr_surf_brute", required=True)
    terr_utile = TriStateField(_label("terr_utile"))
    terr_maitrise_fonc = _code("terr_maitrise_fonc", required=True)
    terr_stade_amngt = _code("terr_stade_amngt", required=True)
    terr_stade_comm = _code("terr_stade_comm", required=True)
    terr_etat_occup = _code("terr_etat_occup", required=True)
    terr_vacant_depuis = DayField(_label("terr_vacant_depuis"))
    terr_usage = _code("terr_usage", required=True)
    terr_url_cartofriches = _text("terr_url_cartofriches", max_length=2000)
    terr_m2_prix = _number("terr_m2_prix")
    terr_cle_en_main = TriStateField(_label("terr_cle_en_main"))
    terr_dispo_date = DayField(_label("terr_dispo_date"))
    terr_puissance_kva = WholeNumberField(_label("terr_puissance_kva"))
    terr_icpe_max = _code("terr_icpe_max")
    terr_divisible = BooleanField(_label("terr_divisible"))
    terr_lot_min_ha = _number("terr_lot_min_ha")
    terr_hauteur_max_m = _number("terr_hauteur_max_m")
    terr_acquereur = _text("terr_acquereur")
    terr_cession_date = DayField(_label("terr_cession_date"))
    terr_vente_montant = _number("terr_vente_montant")
    terr_geomsurf = GeometryField(COLUMN_LABELS["terr_geomsurf"], kind="terrain")

    SECTIONS = (
        (
            "Commercialisation",
            ("terr_stade_comm", "terr_stade_amngt", "terr_maitrise_fonc", "terr_m2_prix",
             "terr_cle_en_main"),
        ),
        (
            "Surface et occupation",
            ("terr_surf_brute", "terr_utile", "terr_etat_occup", "terr_vacant_depuis",
             "terr_usage", "terr_refcad", "terr_url_cartofriches"),
        ),
        (
            "Pour l’implantation d’une entreprise",
            ("terr_dispo_date", "terr_puissance_kva", "terr_icpe_max", "terr_divisible",
             "terr_lot_min_ha", "terr_hauteur_max_m"),
        ),
        (
            "Vente (confidentiel)",
            ("terr_acquereur", "terr_cession_date", "terr_vente_montant"),
        ),
        ("Contour", ("terr_geomsurf",)),
    )  # fmt: skip


class ConfirmForm(FlaskForm):
    """A confirmation button: the form only carries its CSRF token."""


class StatusForm(FlaskForm):
    """The confirmation of a quick status change; a sale also asks for its three values."""

    class Meta:
        locales = ("fr_FR", "fr")

    version = VersionField()
    terr_acquereur = _text("terr_acquereur")
    terr_cession_date = DayField(_label("terr_cession_date"))
    terr_vente_montant = _number("terr_vente_montant")


class OwnerForm(EditForm):
    version = VersionField()
    nom = _text("nom", required=True, max_length=300)
    nature = CodeListField(_label("nature"), OWNER_NATURES, required=True)
    siren = _text("siren", max_length=20)
    adresse = _text("adresse")

    SECTIONS = (("Propriétaire", ("nom", "nature", "siren", "adresse")),)
