-- matching_refresh_plots of matching_plot_v1.sql, reading the view by `terr_id = ANY(ids)`.
-- v1's `terr_id IN (SELECT unnest(ids))` made PostgreSQL compute matching_plot_source for
-- every plot on offer and keep the given ones (a semi join after the view): each statement on
-- terrain paid for the whole inventory, 2 s for one plot among 20,000, and an import's ORM
-- updates, one statement a plot, added up to hours. `= ANY` is an index condition on
-- terrain's primary key: 2 ms for one plot, 1 s for 20,000.
CREATE OR REPLACE FUNCTION matching_refresh_plots(ids text[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO matching_plot AS m (
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts)
    SELECT
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts
    FROM matching_plot_source WHERE terr_id = ANY(ids)
    ORDER BY terr_id  -- one lock order for every writer
    ON CONFLICT (terr_id) DO UPDATE SET
        site_id = excluded.site_id, surface_ha = excluded.surface_ha,
        smallest_lot_ha = excluded.smallest_lot_ha, price_eur_m2 = excluded.price_eur_m2,
        icpe_rank = excluded.icpe_rank, networks = excluded.networks,
        power_kva = excluded.power_kva, available_day = excluded.available_day,
        turnkey = excluded.turnkey, height_max_m = excluded.height_max_m,
        motorway_km = excluded.motorway_km, zones = excluded.zones, x = excluded.x,
        y = excluded.y, facts = excluded.facts;
    -- NOT IN over the ids still on offer is one hashed subplan; a correlated NOT EXISTS on
    -- the view became a nested loop, quadratic in the size of a large import.
    DELETE FROM matching_plot m
     WHERE m.terr_id = ANY(ids)
       AND m.terr_id NOT IN (SELECT s.terr_id FROM matching_plot_source s
                              WHERE s.terr_id = ANY(ids));
$$;
