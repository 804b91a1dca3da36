-- Keep matching_plot and matching_state in step with the inventory, statement by statement
-- (transition tables: an import of many plots rewrites their rows in one set operation).
-- Every function rewrites whole rows from the view matching_plot_source, so there is one
-- definition of a row; a plot leaving the offer simply gets no row back.

CREATE FUNCTION matching_refresh_plots(ids text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM matching_plot WHERE terr_id IN (SELECT unnest(ids));
    INSERT INTO matching_plot (
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts)
    SELECT
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts
    FROM matching_plot_source WHERE terr_id IN (SELECT unnest(ids));
$$;

-- Everything from scratch: after a bulk load made with triggers disabled, for instance.
CREATE FUNCTION matching_rebuild() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM matching_plot;
    INSERT INTO matching_plot (
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts)
    SELECT
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts
    FROM matching_plot_source;
    UPDATE matching_state SET plots = (SELECT count(*) FROM terrain) WHERE id = 1;
$$;

CREATE FUNCTION matching_terrain_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    SELECT count(*) INTO added FROM new_rows;
    IF added > 0 THEN
        PERFORM matching_refresh_plots(ARRAY(SELECT terr_id FROM new_rows));
        UPDATE matching_state SET plots = plots + added WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION matching_terrain_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM matching_refresh_plots(
        ARRAY(SELECT terr_id FROM old_rows UNION SELECT terr_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION matching_terrain_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
BEGIN
    SELECT count(*) INTO removed FROM old_rows;
    IF removed > 0 THEN
        DELETE FROM matching_plot WHERE terr_id IN (SELECT terr_id FROM old_rows);
        UPDATE matching_state SET plots = plots - removed WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION matching_terrain_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM matching_plot;
    UPDATE matching_state SET plots = 0 WHERE id = 1;
    RETURN NULL;
END $$;

-- A park's networks, motorway distance or vocation changed: its plots' rows follow.
CREATE FUNCTION matching_site_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM matching_refresh_plots(ARRAY(
        SELECT t.terr_id FROM terrain t WHERE t.site_id IN (SELECT site_id FROM new_rows)));
    RETURN NULL;
END $$;

-- Zones added, moved or removed: the plots under the old and new outlines are rewritten.
CREATE FUNCTION matching_zones_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM matching_refresh_plots(ARRAY(
            SELECT t.terr_id FROM terrain t JOIN new_rows z
                ON ST_Intersects(z.geom, t.terr_geomsurf)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM matching_refresh_plots(ARRAY(
            SELECT t.terr_id FROM terrain t JOIN old_rows z
                ON ST_Intersects(z.geom, t.terr_geomsurf)));
    ELSE
        PERFORM matching_refresh_plots(ARRAY(
            SELECT t.terr_id FROM terrain t JOIN old_rows z
                ON ST_Intersects(z.geom, t.terr_geomsurf)
            UNION
            SELECT t.terr_id FROM terrain t JOIN new_rows z
                ON ST_Intersects(z.geom, t.terr_geomsurf)));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION matching_zones_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE matching_plot SET zones = 0 WHERE zones <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER matching_terrain_insert AFTER INSERT ON terrain
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_terrain_inserted();
CREATE TRIGGER matching_terrain_update AFTER UPDATE ON terrain
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_terrain_updated();
CREATE TRIGGER matching_terrain_delete AFTER DELETE ON terrain
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_terrain_deleted();
CREATE TRIGGER matching_terrain_truncate AFTER TRUNCATE ON terrain
    FOR EACH STATEMENT EXECUTE FUNCTION matching_terrain_truncated();
CREATE TRIGGER matching_site_update AFTER UPDATE ON site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_site_updated();
CREATE TRIGGER matching_zone_insert AFTER INSERT ON constraint_zone
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_zones_changed();
CREATE TRIGGER matching_zone_update AFTER UPDATE ON constraint_zone
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_zones_changed();
CREATE TRIGGER matching_zone_delete AFTER DELETE ON constraint_zone
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION matching_zones_changed();
CREATE TRIGGER matching_zone_truncate AFTER TRUNCATE ON constraint_zone
    FOR EACH STATEMENT EXECUTE FUNCTION matching_zones_truncated();
