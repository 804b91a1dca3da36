"""What an import reports: every error found in a file, in French (for referents) and English.

Shared by the CNIG importer and the constraint-zone importer (foncier.inventory.zones). Each error
has a stable code; docs/data-formats.md lists the codes with their messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from foncier.core.formulas import FORMULA_MESSAGE

# code: (French template, English template); the templates take the error's parameters.
# French messages are read on the page « Imports et exports », where no command can be run;
# English ones on the command line, whose commands and options they may name.
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "encoding": (
        "Le fichier n’est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 ».",
        "The file is not UTF-8 encoded: save it as 'CSV UTF-8'.",
    ),
    "empty_file": ("Le fichier est vide.", "The file is empty."),
    "bad_csv": (
        "Fichier CSV mal formé à partir de cette ligne (guillemets ?) : {reason}.",
        "Malformed CSV from this line on (quotes?): {reason}.",
    ),
    "missing_column": (
        "Colonne obligatoire absente de l’en-tête.",
        "Required column missing from the header.",
    ),
    "unknown_column": (
        "Colonne inconnue : ni du standard CNIG {table}, ni une extension de foncier.",
        "Unknown column: neither in the CNIG {table} standard nor a foncier extension.",
    ),
    "duplicate_column": (
        "Colonne présente deux fois dans l’en-tête.",
        "Column appears twice in the header.",
    ),
    "field_count": (
        "La ligne compte {found} champs au lieu de {expected} : un « {delimiter} » dans une "
        "valeur sans guillemets décale les colonnes. La ligne n’a pas été lue.",
        "The row has {found} fields instead of {expected}: a '{delimiter}' inside an unquoted "
        "value shifts the columns. The row was not read.",
    ),
    "missing_value": ("Valeur obligatoire manquante.", "Required value missing."),
    "code_list": (
        "Valeur absente de la liste de codes ; valeurs admises : {allowed}.",
        "Value not in the code list; allowed values: {allowed}.",
    ),
    "code_list_case": (
        "Écrivez « {expected} » : la liste de codes distingue majuscules et minuscules.",
        "Write '{expected}': the code list is case-sensitive.",
    ),
    "split_value": (
        "« {value} » suivi de « {following} » forme la valeur « {joined} », coupée en deux "
        "par un séparateur : les colonnes suivantes sont décalées. Entourez la valeur de "
        "guillemets.",
        "'{value}' followed by '{following}' make the value '{joined}', cut in two by a "
        "delimiter: the following columns are shifted. Quote the value.",
    ),
    "bad_number": (
        "Nombre attendu (par exemple 9.9 ou 9,9).",
        "A number is expected (e.g. 9.9 or 9,9).",
    ),
    "bad_integer": ("Nombre entier attendu.", "A whole number is expected."),
    "negative_number": (
        "La valeur ne peut pas être négative.",
        "The value cannot be negative.",
    ),
    "not_positive": (
        "La valeur doit être strictement positive.",
        "The value must be greater than zero.",
    ),
    "number_too_large": (
        "Nombre trop grand (au plus {maximum}).",
        "Number too large (at most {maximum}).",
    ),
    "bad_date": (
        "Date attendue au format AAAA-MM-JJ (par exemple 2024-03-26).",
        "A date is expected as YYYY-MM-DD (e.g. 2024-03-26).",
    ),
    "bad_year": (
        "Année attendue, sur quatre chiffres (par exemple 2015).",
        "A four-digit year is expected (e.g. 2015).",
    ),
    "bad_boolean": ("« oui » ou « non » attendu.", "'oui' or 'non' expected."),
    "formula_text": (
        FORMULA_MESSAGE,
        "The text starts like a spreadsheet formula (=, +, -, @…): remove or change its first "
        "character (e.g. '–' instead of '-').",
    ),
    "bad_url": (
        "Adresse web invalide : elle commence par http:// ou https:// et ne contient pas d’espace.",
        "Invalid URL: it starts with http:// or https:// and contains no space.",
    ),
    "bad_refcad": (
        "Références cadastrales invalides : 14 caractères chacune (par exemple "
        "80024000ZO0030), séparées par « | ».",
        "Invalid cadastral references: 14 characters each (e.g. 80024000ZO0030), separated by '|'.",
    ),
    "bad_id": (
        "Identifiant mal formé : attendu [code INSEE]_{id_class}_[numéro], {max_length} "
        "caractères au plus (par exemple {example}).",
        "Malformed identifier: expected [INSEE code]_{id_class}_[number], at most "
        "{max_length} characters (e.g. {example}).",
    ),
    "duplicate_id": (
        "Identifiant déjà présent à la ligne {first_line} du fichier.",
        "Identifier already used on line {first_line} of the file.",
    ),
    "bad_geopoint": (
        "Point attendu au format « longitude, latitude » en degrés (par exemple 3.9815, 49.2527).",
        "A point is expected as 'longitude, latitude' in degrees (e.g. 3.9815, 49.2527).",
    ),
    "bad_geojson": (
        "Géométrie GeoJSON illisible : {detail_fr}.",
        "Unreadable GeoJSON geometry: {detail_en}.",
    ),
    # A text beyond the bounds of foncier.core.bounded_text: size, nesting, digits.
    "beyond_limits": ("{french}", "{english}"),
    "too_many_vertices": (
        "La géométrie compte plus de {maximum_fr} sommets : simplifiez-la dans votre SIG (un "
        "contour de parc ou de terrain en compte bien moins).",
        "The geometry has more than {maximum_en} vertices: simplify it in your GIS (a park's or "
        "a plot's outline has far fewer).",
    ),
    "geometry_type": (
        "Géométrie de type {found} refusée : {expected} attendu.",
        "Geometry of type {found} refused: {expected} expected.",
    ),
    "unclosed_ring": (
        "Contour non fermé : le dernier point doit répéter le premier.",
        "Ring not closed: its last position must repeat the first.",
    ),
    "invalid_geometry": (
        "Géométrie invalide : {reason_fr}.",
        "Invalid geometry: {reason_en}.",
    ),
    "wgs84_coordinates": (
        "Coordonnées en degrés (WGS84 ?) : les géométries doivent être en Lambert-93 "
        "(EPSG:2154), en mètres.",
        "Coordinates look like WGS84 degrees: geometries must be in Lambert-93 (EPSG:2154) metres.",
    ),
    "not_lambert93": (
        "Coordonnées hors de l’emprise de Lambert-93 (EPSG:2154, France métropolitaine).",
        "Coordinates outside the extent of Lambert-93 (EPSG:2154, metropolitan France).",
    ),
    "unknown_epci": (
        "EPCI inconnu de la plateforme : vérifiez le SIREN ; si l’EPCI est bien celui du "
        "département {departement}, demandez à l’administrateur de la plateforme d’en charger "
        "le territoire.",
        "Unknown EPCI: load the territory with `foncier territory load --departement "
        "{departement}`.",
    ),
    "unknown_commune": (
        "Commune inconnue de la plateforme : vérifiez le code INSEE ; si la commune est bien "
        "dans le département {departement}, demandez à l’administrateur de la plateforme d’en "
        "charger le territoire.",
        "Unknown commune: load the territory with `foncier territory load --departement "
        "{departement}`.",
    ),
    "commune_outside_epci": (
        "La commune {commune} n’est pas dans l’EPCI {epci} donné par site_epci_siren : un "
        "parc relève de l’EPCI de sa commune.",
        "The commune {commune} is not in the EPCI {epci} given by site_epci_siren: a park "
        "belongs to its commune's EPCI.",
    ),
    "site_outside_epci": (
        "Le parc n’est pas dans son EPCI ({epci}), même à {tolerance} m près.",
        "The site is not inside its EPCI ({epci}), even within {tolerance} m.",
    ),
    "site_excludes_plots": (
        "Le nouveau périmètre laisse hors du parc des terrains déjà enregistrés : {plots}.",
        "The new perimeter leaves plots already recorded outside the site: {plots}.",
    ),
    "unknown_site": (
        "Parc inconnu : ni dans le fichier des parcs, ni dans la base.",
        "Unknown site: neither in the sites file nor in the database.",
    ),
    "plot_outside_site": (
        "Le terrain sort du périmètre de son parc, même à {tolerance} m près.",
        "The plot lies outside its site's perimeter, even within {tolerance} m.",
    ),
    "lot_min_not_divisible": (
        "Lot minimum donné pour un terrain non divisible : terr_divisible doit valoir « oui ».",
        "Minimum lot given for a plot that is not divisible: terr_divisible must be 'oui'.",
    ),
    "lot_min_too_large": (
        "Le lot minimum ({lot_min} ha) dépasse la surface du terrain ({surface} ha).",
        "The minimum lot ({lot_min} ha) exceeds the plot's surface ({surface} ha).",
    ),
    "bad_json": ("JSON illisible : {reason}.", "Unreadable JSON: {reason}."),
    "not_feature_collection": (
        "Une FeatureCollection GeoJSON est attendue.",
        "A GeoJSON FeatureCollection is expected.",
    ),
    "no_features": ("Le fichier ne contient aucune entité.", "The file holds no feature."),
    "unknown_crs": (
        "Système de coordonnées du fichier (membre « crs ») inconnu : déclarez-y un système "
        "connu (par exemple EPSG:2154).",
        "Unknown coordinate reference system in the file's 'crs' member; give it with --crs "
        "(e.g. EPSG:2154).",
    ),
    "unknown_crs_option": (
        "Système de coordonnées donné par --crs inconnu : attendu un code comme EPSG:2154.",
        "Unknown coordinate reference system given with --crs: expected a code such as EPSG:2154.",
    ),
    "not_degrees": (
        "Coordonnées hors des bornes des degrés alors que le fichier est en {crs} (sans membre "
        "« crs », GeoJSON est en WGS84) : déclarez le système de coordonnées dans le fichier "
        "(membre « crs »).",
        "Coordinates out of degree bounds although the file is in {crs} (without a 'crs' "
        "member GeoJSON is WGS84); give the system with --crs.",
    ),
    "not_degrees_option": (
        "Coordonnées hors des bornes des degrés alors que le système donné par --crs, {crs}, "
        "est en degrés : vérifiez l’option.",
        "Coordinates out of degree bounds although the system given with --crs, {crs}, is in "
        "degrees: check the option.",
    ),
    "missing_geometry": ("Entité sans géométrie.", "Feature without geometry."),
    "missing_name": (
        "Propriété « {name_field} » absente ou vide : elle donne le nom de la zone.",
        "Property '{name_field}' missing or empty: it gives the zone's name.",
    ),
    "bad_property": (
        "Propriété « {name} » impossible à enregistrer : {detail_fr}.",
        "Property '{name}' cannot be stored: {detail_en}.",
    ),
    # CNIG inventories in GeoJSON and GeoPackage files, and imports made by a person.
    "duplicate_feature_id": (
        "Identifiant déjà présent à l’entité {first_line} du fichier.",
        "Identifier already used by feature {first_line} of the file.",
    ),
    "compound_value": (
        "Valeur composée (objet ou liste) : une valeur simple est attendue.",
        "Compound value (object or list): a plain value is expected.",
    ),
    "geometry_in_properties": (
        "La géométrie est celle de l’entité : cette propriété ne doit pas la répéter.",
        "The geometry is the feature's own: this property must not repeat it.",
    ),
    "multipart_plot": (
        "Un terrain est d’un seul tenant : la géométrie compte {parts} parties.",
        "A plot is all in one piece: the geometry has {parts} parts.",
    ),
    "file_crs_unknown": (
        "Système de coordonnées du fichier inconnu ({crs}) : enregistrez-le en WGS84 "
        "(EPSG:4326) ou en Lambert-93 (EPSG:2154).",
        "Unknown coordinate reference system of the file ({crs}): save it in WGS84 "
        "(EPSG:4326) or Lambert-93 (EPSG:2154).",
    ),
    "file_not_degrees": (
        "Coordonnées hors des bornes des degrés alors que le fichier est en {crs} : sans "
        "membre « crs », un fichier GeoJSON est en WGS84 (longitude, latitude).",
        "Coordinates out of degree bounds although the file is in {crs}: without a 'crs' "
        "member, a GeoJSON file is in WGS84 (longitude, latitude).",
    ),
    "unknown_class": (
        "Classe du fichier non reconnue : ni terrains (colonne terr_id), ni parcs (colonnes "
        "site_nom, site_epci_siren).",
        "Unknown class of file: neither plots (terr_id column) nor parks (site_nom, "
        "site_epci_siren columns).",
    ),
    "duplicate_class": (
        "Un autre fichier de cet import apporte déjà les {table} : un seul fichier par classe.",
        "Another file of this import already brings the {table} rows: one file per class.",
    ),
    "unreadable_file": (
        "Fichier illisible comme {kind} : {reason}.",
        "The file cannot be read as {kind}: {reason}.",
    ),
    "no_cnig_layer": (
        "Aucune couche site_eco ni terrain_eco dans ce GeoPackage (couches : {layers}).",
        "No site_eco or terrain_eco layer in this GeoPackage (layers: {layers}).",
    ),
    "too_many_rows": (
        "Le fichier compte plus de {limit_fr} lignes ou entités, davantage que la plateforme "
        "n’en vérifie en une fois : découpez-le (par exemple par intercommunalité), ou "
        "demandez à l’administrateur de la plateforme de l’importer avec la commande "
        "« foncier import cnig ».",
        "The file has more than {limit_en} rows or features, more than a web import checks at "
        "once: split it, or import it with `foncier import cnig`.",
    ),
    "epci_scope": (
        "Vous ne pouvez importer que les parcs et terrains de votre EPCI ; celui-ci relève "
        "de {epci}.",
        "You can only import the parks and plots of your EPCI; this one belongs to {epci}.",
    ),
}

# Long cells (geometries) are cut in reports: the line and column locate them well enough.
VALUE_PREVIEW_CHARS = 80


class IssueError(Exception):
    """A value refused for a reason listed in MESSAGES; the importer locates it."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def french(self) -> str:
        """The French message of MESSAGES, for a form field rather than a file report."""
        return MESSAGES[self.code][0].format(**self.params)


@dataclass(frozen=True)
class Issue:
    """One error of an imported file, located by line and column (CSV) or feature (GeoJSON)."""

    code: str
    file: str
    message_fr: str
    message_en: str
    line: int | None = None
    column: str | None = None
    feature: int | None = None
    value: str | None = None
    # The feature of a CNIG inventory in GeoJSON or GeoPackage, counted from 1 (its "row").
    entity: int | None = None

    @property
    def location(self) -> str:
        if self.feature is not None:
            return f"{self.file} features[{self.feature}]"
        if self.entity is not None:
            where = f"{self.file} feature {self.entity}"
        else:
            where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where} {self.column}" if self.column else where

    @property
    def row(self) -> int | None:
        """The line of a CSV file or the feature of a geographic file the issue is about."""
        return self.line if self.entity is None else self.entity

    @property
    def row_fr(self) -> str:
        """Where the issue is, in French: « ligne 3 », « entité 3 », or nothing."""
        if self.entity is not None:
            return f"entité {self.entity}"
        if self.line is not None:
            return f"ligne {self.line}"
        return f"entité {self.feature + 1}" if self.feature is not None else ""

    def english(self) -> str:
        # The refused value beside the message: "2023-02-30" tells more than "a bad date".
        given = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{self.location}: {self.message_en}{given}"


def preview(value: str | None) -> str | None:
    if value is None or len(value) <= VALUE_PREVIEW_CHARS:
        return value
    return value[: VALUE_PREVIEW_CHARS - 1] + "…"


@dataclass
class IssueLog:
    """The errors found so far in the files of one import."""

    issues: list[Issue] = field(default_factory=list)
    # Files whose rows are features (GeoJSON, GeoPackage layers): their "line" is an entity.
    feature_files: set[str] = field(default_factory=set)
    # An importer with errors of its own gives MESSAGES completed with them.
    messages: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MESSAGES)

    def count_features(self, file: str) -> None:
        """Number the rows of ``file`` as features from now on (its lines are entities)."""
        self.feature_files.add(file)

    def add(
        self,
        error: IssueError,
        file: str,
        *,
        line: int | None = None,
        column: str | None = None,
        feature: int | None = None,
        value: str | None = None,
    ) -> None:
        french, english = self.messages[error.code]
        entity = line if file in self.feature_files else None
        self.issues.append(
            Issue(
                code=error.code,
                file=file,
                message_fr=french.format(**error.params),
                message_en=english.format(**error.params),
                line=None if entity is not None else line,
                column=column,
                feature=feature,
                value=preview(value),
                entity=entity,
            )
        )

    def __bool__(self) -> bool:
        return bool(self.issues)


@dataclass(frozen=True)
class SourceFile:
    """A file to import: its name, used in reports, and its bytes (a path or an upload)."""

    name: str
    content: bytes

    @classmethod
    def of(cls, source: Path | SourceFile) -> SourceFile:
        if isinstance(source, SourceFile):
            return source
        # Reports name the file as it was given, like compilers do.
        return cls(name=str(source), content=source.read_bytes())

    @property
    def basename(self) -> str:
        return Path(self.name).name


@dataclass
class FileReport(ABC):
    """Base of the import reports: a refused import lists its issues and wrote nothing."""

    dry_run: bool
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.issues

    @abstractmethod
    def summary_lines(self) -> list[str]:
        """What the import did (or, in a dry run, would do), in English; english_lines adds
        the dry-run notice."""

    def english_lines(self) -> list[str]:
        if self.accepted:
            dry_run = ["Dry run: nothing was written."] if self.dry_run else []
            return [*self.summary_lines(), *dry_run]
        files = sorted({issue.file for issue in self.issues})
        return [
            f"Refused: {len(self.issues)} error(s) in {', '.join(files)}; nothing was written.",
            *(issue.english() for issue in self.issues),
        ]
