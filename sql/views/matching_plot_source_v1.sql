-- The row of matching_plot each plot on offer should have, computed from the plot, its park and
-- the constraint zones it touches. matching_plot is this view stored and kept up to date by
-- the triggers of sql/triggers/matching_plot_v1.sql; the view itself is read only when rows
-- are rewritten (filtered by terr_id: the zone subquery runs for those plots only).
--
-- The code lists, orders and bits below are those of foncier.models.codelists and
-- foncier.matching.scoring (NETWORKS, ZONE_TYPES); tests/matching compare both sides.
-- Nothing here reads which EPCI owns the park.
CREATE VIEW matching_plot_source AS
WITH plot AS (
    SELECT
        t.terr_id,
        t.site_id,
        t.terr_surf_brute::float8 AS surface_ha,
        CASE WHEN t.terr_divisible THEN coalesce(t.terr_lot_min_ha, 0)::float8
             ELSE t.terr_surf_brute::float8 END AS smallest_lot_ha,
        t.terr_m2_prix::float8 AS price_eur_m2,
        (coalesce(array_position(ARRAY['aucun', 'déclaration', 'enregistrement',
            'autorisation', 'seveso seuil bas', 'seveso seuil haut'], t.terr_icpe_max), 0)
            - 1)::smallint AS icpe_rank,
        ((CASE WHEN s.reseau_electrique THEN 1 ELSE 0 END)
         | (CASE WHEN s.reseau_gaz THEN 2 ELSE 0 END)
         | (CASE WHEN s.reseau_eau_potable THEN 4 ELSE 0 END)
         | (CASE WHEN s.reseau_assainissement THEN 8 ELSE 0 END)
         | (CASE WHEN s.reseau_eau_pluviale THEN 16 ELSE 0 END)
         | (CASE WHEN s.reseau_fibre_optique THEN 32 ELSE 0 END)
         | (CASE WHEN s.reseau_fret_ferroviaire THEN 64 ELSE 0 END)
         | (CASE WHEN s.reseau_fluvial THEN 128 ELSE 0 END))::smallint AS networks,
        t.terr_puissance_kva::float8 AS power_kva,
        coalesce(t.terr_dispo_date - DATE '0001-01-01' + 1, 0) AS available_day,
        t.terr_cle_en_main AS turnkey,
        t.terr_hauteur_max_m::float8 AS height_max_m,
        s.autoroute_echang_dist::float8 AS motorway_km,
        (SELECT coalesce(bit_or(CASE z.zone_type WHEN 'inondation' THEN 1 WHEN 'pprt' THEN 2
                                                 WHEN 'natura2000' THEN 4 WHEN 'autre' THEN 8
                                                 ELSE 0 END), 0)
           FROM constraint_zone z
          WHERE ST_Intersects(z.geom, t.terr_geomsurf))::smallint AS zones,
        ST_X(ST_Centroid(t.terr_geomsurf)) AS x,
        ST_Y(ST_Centroid(t.terr_geomsurf)) AS y,
        -- Positions in the CNIG lists (their length when unknown), for the scorer's tables.
        coalesce(array_position(ARRAY['non aménageable', 'non aménagé, non viabilisé',
            'viabilisation en cours', 'viabilisé non aménagé', 'viabilisé et aménagé',
            'inconnu', 'autre', 'sans objet'], t.terr_stade_amngt), 9) - 1 AS stage_code,
        coalesce(array_position(ARRAY['industrielle', 'commerciale', 'tertiaire',
            'artisanale', 'touristique', 'portuaire', 'aéroportuaire, aéronautique',
            'entrepôts, logistique', 'logistique agricole', 'mixte', 'inconnu', 'autre',
            'sans objet'], s.site_vocadomi), 14) - 1 AS vocation_code
    FROM terrain t
    JOIN site s ON s.site_id = t.site_id
    WHERE t.terr_stade_comm IN ('en vente', 'en vente avec contraintes')
)
SELECT
    terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
    power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y,
    -- The scorer's numbers (foncier.matching.engine.PACKED_FACTS), big-endian float8s.
    float8send(surface_ha) || float8send(smallest_lot_ha)
    || float8send(coalesce(price_eur_m2, 'NaN')) || float8send(coalesce(motorway_km, 'NaN'))
    || float8send(available_day::float8) || float8send(coalesce(power_kva, 'NaN'))
    || float8send(x) || float8send(y)
    || float8send((networks | (stage_code << 8) | (vocation_code << 12))::float8) AS facts
FROM plot;
