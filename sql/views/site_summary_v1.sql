-- Figures of each site computed from its plots; never typed in, so they cannot drift.
--
-- Vacancy follows article L318-8-2 of the Code de l'urbanisme: the share of the site's land
-- units ("unités foncières": its plots that count in the useful surface) that have had no
-- activity subject to the CFE for at least two years on 1 January of the current year and
-- stayed unoccupied since. The CNIG occupation state carries it: a plot is vacant when its
-- state is 'vacant' or 'friche' (it had an activity before). foncier's optional
-- terr_vacant_depuis refines it: a plot whose vacancy is known to have started after
-- 1 January two years ago is not vacant yet in the legal sense. Without that date the CNIG
-- state is taken at its word, so that a pure CNIG file gives the same rate once imported;
-- uf_vacant_a_dater counts those undated plots so that referents can date them.
CREATE VIEW site_summary AS
WITH land_units AS (
    SELECT
        t.*,
        t.terr_etat_occup IN ('vacant', 'friche') AS is_vacant,
        t.terr_etat_occup IN ('vacant', 'friche') AND coalesce(
            t.terr_vacant_depuis <= make_date(extract(year FROM current_date)::int - 2, 1, 1),
            true
        ) AS is_legally_vacant
    FROM terrain AS t
    WHERE t.terr_utile IS DISTINCT FROM false
)
SELECT
    s.site_id,
    count(u.terr_id)::int AS uf_nbre,
    count(u.terr_id) FILTER (WHERE u.is_legally_vacant)::int AS uf_vacant_nbre,
    count(u.terr_id) FILTER (WHERE u.is_vacant AND u.terr_vacant_depuis IS NULL)::int
        AS uf_vacant_a_dater,
    round(
        100.0 * count(u.terr_id) FILTER (WHERE u.is_legally_vacant) / nullif(count(u.terr_id), 0)
    )::int AS taux_vacance,
    count(u.terr_id) FILTER (
        WHERE u.terr_usage IN ('bâti productif', 'bâti résidentiel')
    )::int AS uf_bati_nbre,
    coalesce(sum(u.terr_surf_brute), 0) AS surf_utile_calculee,
    coalesce(
        sum(u.terr_surf_brute) FILTER (
            WHERE u.terr_stade_comm IN ('en vente', 'en vente avec contraintes')
        ),
        0
    ) AS surf_disponible,
    count(u.terr_id) FILTER (
        WHERE u.terr_stade_comm IN ('en vente', 'en vente avec contraintes')
    )::int AS terrains_disponibles
FROM site AS s
LEFT JOIN land_units AS u ON u.site_id = s.site_id
GROUP BY s.site_id;
