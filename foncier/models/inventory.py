"""The shared inventory: business parks (CNIG SITE-ECO), plots (TERRAIN-ECO), owners, occupants.

Column names are those of the CNIG standard, so that a CNIG file maps onto the tables one to
one; the columns foncier adds for matching carry the same ``terr_`` prefix and are documented
in docs/data-formats.md.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models import codelists
from foncier.models.base import SRID, Base, Timestamped
from foncier.models.territory import Commune, Epci

Hectares = Numeric(12, 4)
Euros = Numeric(14, 2)
Kilometres = Numeric(8, 2)


def in_code_list(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK constraint that keeps ``column`` within a CNIG code list (NULL allowed)."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_code_list")


def code_list_checks(*columns: str) -> tuple[CheckConstraint, ...]:
    return tuple(in_code_list(column, codelists.CODE_LISTS[column]) for column in columns)


class Site(Timestamped, Base):
    """A business park (zone d'activité économique) or another economic site, CNIG SITE-ECO."""

    __tablename__ = "site"
    __table_args__ = (
        *code_list_checks(
            "site_type", "site_vocadomi", "site_etat", "site_evol_urba", "site_moa_type"
        ),
        CheckConstraint("site_surf_brute >= 0 AND site_surf_utile >= 0", name="surfaces"),
    )

    site_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    pole_id: Mapped[str | None] = mapped_column(String(20))
    site_nom: Mapped[str] = mapped_column(Text)
    site_type: Mapped[str] = mapped_column(Text)
    site_vocadomi: Mapped[str] = mapped_column(Text, index=True)
    site_etat: Mapped[str] = mapped_column(Text)
    site_surf_brute: Mapped[Decimal] = mapped_column(Hectares)
    site_surf_utile: Mapped[Decimal] = mapped_column(Hectares)
    site_creation_date: Mapped[int | None] = mapped_column(SmallInteger)
    site_identif_date: Mapped[date] = mapped_column(Date)
    site_actu_date: Mapped[date] = mapped_column(Date)
    source_producteur: Mapped[str | None] = mapped_column(Text)
    site_description: Mapped[str | None] = mapped_column(Text)
    site_quali_territoire: Mapped[str | None] = mapped_column(Text)
    site_evol_urba: Mapped[str | None] = mapped_column(Text)
    site_url: Mapped[str | None] = mapped_column(Text)
    site_epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    site_comm_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"), index=True)
    site_moa_type: Mapped[str] = mapped_column(Text)
    site_moa_nom: Mapped[str | None] = mapped_column(Text)
    site_moa_amngt: Mapped[str | None] = mapped_column(Text)
    site_moa_comm: Mapped[str | None] = mapped_column(Text)
    site_nb_etab: Mapped[int | None] = mapped_column(Integer)
    site_nb_emploi: Mapped[int | None] = mapped_column(Integer)
    site_geomsurf: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    site_media: Mapped[str | None] = mapped_column(Text)
    site_surf_comm_dispo: Mapped[Decimal | None] = mapped_column(Hectares)
    site_surf_projet: Mapped[Decimal | None] = mapped_column(Hectares)
    site_voca_industrielle: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_commerciale: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_tertiaire: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_artisanale: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_touristique: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_portuaire: Mapped[bool | None] = mapped_column(Boolean)
    site_voca_aeroportuaire: Mapped[bool | None] = mapped_column(Boolean)
    reseau_eau_pluviale: Mapped[bool | None] = mapped_column(Boolean)
    reseau_eau_potable: Mapped[bool | None] = mapped_column(Boolean)
    reseau_assainissement: Mapped[bool | None] = mapped_column(Boolean)
    reseau_gaz: Mapped[bool | None] = mapped_column(Boolean)
    reseau_electrique: Mapped[bool | None] = mapped_column(Boolean)
    reseau_fibre_optique: Mapped[bool | None] = mapped_column(Boolean)
    reseau_fret_ferroviaire: Mapped[bool | None] = mapped_column(Boolean)
    reseau_fluvial: Mapped[bool | None] = mapped_column(Boolean)
    desserte_tc: Mapped[bool | None] = mapped_column(Boolean)
    desserte_route_nom: Mapped[str | None] = mapped_column(Text)
    autoroute_nom: Mapped[str | None] = mapped_column(Text)
    autoroute_echang_dist: Mapped[Decimal | None] = mapped_column(Kilometres)
    gare_nom: Mapped[str | None] = mapped_column(Text)
    gare_dist: Mapped[Decimal | None] = mapped_column(Kilometres)
    gare_fret_nom: Mapped[str | None] = mapped_column(Text)
    gare_fret_dist: Mapped[Decimal | None] = mapped_column(Kilometres)
    aeroport_nom: Mapped[str | None] = mapped_column(Text)
    aeroport_dist: Mapped[Decimal | None] = mapped_column(Kilometres)
    port_nom: Mapped[str | None] = mapped_column(Text)
    port_dist: Mapped[Decimal | None] = mapped_column(Kilometres)
    # Demonstration records are labelled as such everywhere they are shown.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Optimistic locking: a save based on a stale version is refused, never silently applied.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    epci: Mapped[Epci] = relationship()
    commune: Mapped[Commune] = relationship()
    terrains: Mapped[list[Terrain]] = relationship(
        back_populates="site", order_by="Terrain.terr_id"
    )

    __mapper_args__ = {"version_id_col": version}


class Terrain(Timestamped, Base):
    """A plot of a business park, CNIG TERRAIN-ECO plus the attributes companies ask about."""

    __tablename__ = "terrain"
    __table_args__ = (
        *code_list_checks(
            "terr_maitrise_fonc",
            "terr_stade_amngt",
            "terr_stade_comm",
            "terr_etat_occup",
            "terr_usage",
            "terr_icpe_max",
        ),
        CheckConstraint("terr_surf_brute > 0", name="surface_positive"),
        CheckConstraint(
            "terr_lot_min_ha IS NULL OR (terr_divisible AND terr_lot_min_ha > 0 "
            "AND terr_lot_min_ha <= terr_surf_brute)",
            name="lot_min_within_divisible_plot",
        ),
        CheckConstraint("terr_puissance_kva IS NULL OR terr_puissance_kva >= 0", name="power"),
        CheckConstraint("terr_hauteur_max_m IS NULL OR terr_hauteur_max_m > 0", name="height"),
    )

    terr_id: Mapped[str] = mapped_column(String(23), primary_key=True)
    site_id: Mapped[str] = mapped_column(
        ForeignKey("site.site_id", onupdate="CASCADE", ondelete="RESTRICT"), index=True
    )
    terr_refcad: Mapped[str | None] = mapped_column(Text)
    terr_surf_brute: Mapped[Decimal] = mapped_column(Hectares)
    terr_utile: Mapped[bool | None] = mapped_column(Boolean)
    terr_identif_date: Mapped[date] = mapped_column(Date)
    terr_actu_date: Mapped[date] = mapped_column(Date)
    terr_maitrise_fonc: Mapped[str] = mapped_column(Text)
    terr_stade_amngt: Mapped[str] = mapped_column(Text)
    terr_stade_comm: Mapped[str] = mapped_column(Text, index=True)
    terr_etat_occup: Mapped[str] = mapped_column(Text)
    terr_usage: Mapped[str] = mapped_column(Text)
    terr_url_cartofriches: Mapped[str | None] = mapped_column(Text)
    terr_geomsurf: Mapped[WKBElement] = mapped_column(
        Geometry("POLYGON", srid=SRID, spatial_index=True)
    )
    terr_cle_en_main: Mapped[bool | None] = mapped_column(Boolean)
    terr_acquereur: Mapped[str | None] = mapped_column(Text)
    terr_cession_date: Mapped[date | None] = mapped_column(Date)
    terr_vente_montant: Mapped[Decimal | None] = mapped_column(Euros)
    terr_m2_prix: Mapped[Decimal | None] = mapped_column(Euros)
    # Extensions for matching (not in the CNIG standard).
    terr_dispo_date: Mapped[date | None] = mapped_column(Date)
    terr_puissance_kva: Mapped[int | None] = mapped_column(Integer)
    terr_icpe_max: Mapped[str | None] = mapped_column(Text)
    terr_divisible: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    terr_lot_min_ha: Mapped[Decimal | None] = mapped_column(Hectares)
    terr_hauteur_max_m: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    # Extension for the legal vacancy rate: since when the plot has had no activity.
    terr_vacant_depuis: Mapped[date | None] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    site: Mapped[Site] = relationship(back_populates="terrains")
    owners: Mapped[list[Owner]] = relationship(
        back_populates="terrain", cascade="all, delete-orphan", passive_deletes=True
    )
    etablissements: Mapped[list[Etablissement]] = relationship(
        secondary="etablissement_terrain", back_populates="terrains"
    )

    __mapper_args__ = {"version_id_col": version}


class Owner(Timestamped, Base):
    """Who owns a plot: required by law for the inventory, personal data, never exported."""

    __tablename__ = "owner"
    __table_args__ = (
        CheckConstraint("nature IN ('personne physique', 'personne morale')", name="nature"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    terr_id: Mapped[str] = mapped_column(
        ForeignKey("terrain.terr_id", onupdate="CASCADE", ondelete="CASCADE"), index=True
    )
    nom: Mapped[str] = mapped_column(Text)
    nature: Mapped[str] = mapped_column(Text)
    siren: Mapped[str | None] = mapped_column(String(9))
    adresse: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Optimistic locking, as for parks and plots: two people editing one owner at once.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    terrain: Mapped[Terrain] = relationship(back_populates="owners")

    __mapper_args__ = {"version_id_col": version}


etablissement_terrain = Table(
    "etablissement_terrain",
    Base.metadata,
    Column(
        "siret",
        ForeignKey("etablissement.siret", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "terr_id",
        ForeignKey("terrain.terr_id", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Etablissement(Timestamped, Base):
    """An establishment occupying plots, CNIG ETABLISSEMENT (the law's "occupants")."""

    __tablename__ = "etablissement"
    __table_args__ = (
        *code_list_checks("geocodage_qualite"),
        CheckConstraint("siret ~ '^[0-9]{14}$'", name="siret_format"),
        CheckConstraint("siren ~ '^[0-9]{9}$'", name="siren_format"),
    )

    siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    siren: Mapped[str] = mapped_column(String(9))
    ban_id: Mapped[str | None] = mapped_column(Text)
    bat_id: Mapped[str | None] = mapped_column(Text)
    etab_adresse: Mapped[str | None] = mapped_column(Text)
    etab_raison_sociale: Mapped[str] = mapped_column(Text)
    etab_nat_juridique: Mapped[str] = mapped_column(String(4))
    etab_nom: Mapped[str] = mapped_column(Text)
    etab_siege: Mapped[bool | None] = mapped_column(Boolean)
    etab_creation_date: Mapped[date] = mapped_column(Date)
    etab_identif_date: Mapped[date] = mapped_column(Date)
    etab_actu_date: Mapped[date] = mapped_column(Date)
    etab_actif: Mapped[bool | None] = mapped_column(Boolean)
    etab_fermeture_date: Mapped[date | None] = mapped_column(Date)
    etab_description: Mapped[str | None] = mapped_column(Text)
    etab_activite_code: Mapped[str] = mapped_column(String(10))
    etab_activite_libelle: Mapped[str] = mapped_column(Text)
    etab_effectif_code: Mapped[str] = mapped_column(String(3))
    etab_effectif_libelle: Mapped[str] = mapped_column(Text)
    etab_effectif_annee: Mapped[int] = mapped_column(SmallInteger)
    etab_source_info: Mapped[str | None] = mapped_column(Text)
    geocodage_qualite: Mapped[str] = mapped_column(Text)
    etab_geompoint: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOINT", srid=SRID, spatial_index=True)
    )
    etab_contact_mail: Mapped[str | None] = mapped_column(Text)
    etab_contact_tel: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    terrains: Mapped[list[Terrain]] = relationship(
        secondary=etablissement_terrain, back_populates="etablissements"
    )
