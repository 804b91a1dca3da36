"""Forms of the imports and exports page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, MultipleFileField
from wtforms import BooleanField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from foncier.inventory.exports import ExportFormat

SUFFIXES = ["csv", "geojson", "json", "gpkg"]
SCOPES = [
    SelectChoice("reseau", "Tout le réseau"),
    SelectChoice("epci", "Une intercommunalité"),
    SelectChoice("parc", "Un parc d’activités"),
]


class ImportForm(FlaskForm):
    fichiers = MultipleFileField(
        "Fichiers à importer",
        validators=[
            FileAllowed(
                SUFFIXES,
                "Seuls les fichiers CSV, GeoJSON (.geojson, .json) et GeoPackage "
                "(.gpkg) sont acceptés.",
            )
        ],
        render_kw={"accept": ",".join(f".{suffix}" for suffix in SUFFIXES), "multiple": True},
    )

    def validate_fichiers(self, field: MultipleFileField) -> None:
        if not any(upload and upload.filename for upload in field.data or []):
            raise ValidationError("Choisissez au moins un fichier.")


class ExportForm(FlaskForm):
    """A GET form: its parameters make the download's address, which can be bookmarked."""

    class Meta:
        csrf = False

    perimetre = RadioField("Périmètre", choices=SCOPES, default="reseau")
    epci = SelectField("Intercommunalité", choices=[], validate_choice=False)
    site = SelectField("Parc d’activités", choices=[], validate_choice=False)
    format = RadioField(
        "Format",
        choices=[SelectChoice(export.value, export.label) for export in ExportFormat],
        default=ExportFormat.CSV.value,
        validators=[InputRequired("Choisissez un format.")],
    )
    extensions = BooleanField("Ajouter les colonnes propres à foncier (CSV et GeoJSON)")
    confidentiel = BooleanField("Inclure les données confidentielles de vos terrains")

    def validate_epci(self, field: SelectField) -> None:
        if self.perimetre.data == "epci" and not field.data:
            raise ValidationError("Choisissez une intercommunalité.")

    def validate_site(self, field: SelectField) -> None:
        if self.perimetre.data == "parc" and not field.data:
            raise ValidationError("Choisissez un parc.")
