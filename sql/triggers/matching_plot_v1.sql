-- Keep matching_plot and matching_plot_count in step with the inventory, statement by statement
-- (transition tables: an import of many plots rewrites their rows in one set operation).
-- Every function rewrites whole rows from the view matching_plot_source, so there is one
-- definition of a row; a plot leaving the offer simply gets no row back.
--
-- Concurrent transactions: under READ COMMITTED each statement below reads with a fresh
-- snapshot, so a row is right if nothing it depends on can change between that read and the
-- commit. Hence two locks, taken before any row is read:
-- * a plot statement locks the plots' parks FOR SHARE (old and new park when a plot moves):
--   a park edit waits for it, or it waits for the park edit, and the later one sees the other;
-- * zone statements take an exclusive transaction advisory lock, plot and park statements a
--   shared one on the same key: zones and plot geometries never change side by side (two plot
--   or park edits still run together; a zone import waits for them and they wait for it).
-- Rows are written with INSERT ... ON CONFLICT, never delete-then-insert: two transactions
-- rewriting the same plot update one row instead of racing to insert it.

CREATE FUNCTION matching_lock_zones(exclusive boolean) RETURNS void
LANGUAGE sql AS $$
    -- The key is matching_plot's oid: no other advisory lock can collide with it by chance.
    SELECT CASE WHEN exclusive
        THEN pg_advisory_xact_lock('matching_plot'::regclass::oid::int, 0)
        ELSE pg_advisory_xact_lock_shared('matching_plot'::regclass::oid::int, 0) END;
$$;

CREATE FUNCTION matching_lock_parks(site_ids text[]) RETURNS void
LANGUAGE sql AS $$
    SELECT matching_lock_zones(false);
    SELECT 1 FROM site WHERE site_id IN (SELECT unnest(site_ids)) ORDER BY site_id FOR SHARE;
$$;

CREATE FUNCTION matching_refresh_plots(ids text[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO matching_plot AS m (
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts)
    SELECT
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts
    FROM matching_plot_source WHERE terr_id IN (SELECT unnest(ids))
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

-- The plot count is a sum of deltas, one row appended per statement: inserting never waits for
-- another transaction (a single counter row would queue every plot creation behind the
-- longest import, and deadlock two transactions that also edit the same plots). Now and then
-- the rows no other transaction holds are folded into one; SKIP LOCKED never waits either.
CREATE FUNCTION matching_count_plots(change bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    appended bigint;
BEGIN
    INSERT INTO matching_plot_count (delta) VALUES (change) RETURNING id INTO appended;
    IF appended % 256 = 0 AND current_setting('transaction_isolation') = 'read committed' THEN
        WITH folded AS (
            DELETE FROM matching_plot_count WHERE id IN (
                SELECT id FROM matching_plot_count FOR UPDATE SKIP LOCKED)
            RETURNING delta)
        INSERT INTO matching_plot_count (delta) SELECT sum(delta) FROM folded HAVING count(*) > 0;
    END IF;
END $$;

-- Everything from scratch: after a bulk load made with triggers disabled, for instance. The
-- inventory is locked against writers meanwhile.
CREATE FUNCTION matching_rebuild() RETURNS void
LANGUAGE sql AS $$
    LOCK TABLE terrain, site, constraint_zone IN SHARE MODE;
    DELETE FROM matching_plot;
    INSERT INTO matching_plot (
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts)
    SELECT
        terr_id, site_id, surface_ha, smallest_lot_ha, price_eur_m2, icpe_rank, networks,
        power_kva, available_day, turnkey, height_max_m, motorway_km, zones, x, y, facts
    FROM matching_plot_source;
    DELETE FROM matching_plot_count;
    INSERT INTO matching_plot_count (delta) SELECT count(*) FROM terrain;
$$;

CREATE FUNCTION matching_terrain_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    SELECT count(*) INTO added FROM new_rows;
    IF added > 0 THEN
        PERFORM matching_lock_parks(ARRAY(SELECT DISTINCT site_id FROM new_rows));
        PERFORM matching_refresh_plots(ARRAY(SELECT terr_id FROM new_rows));
        PERFORM matching_count_plots(added);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION matching_terrain_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM matching_lock_parks(
        ARRAY(SELECT site_id FROM old_rows UNION SELECT site_id FROM new_rows));
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
        -- Locked like an edit: a park or zone statement that read these plots before they
        -- went must commit first, or it would write their rows back afterwards.
        PERFORM matching_lock_parks(ARRAY(SELECT DISTINCT site_id FROM old_rows));
        DELETE FROM matching_plot WHERE terr_id IN (SELECT terr_id FROM old_rows);
        PERFORM matching_count_plots(-removed);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION matching_terrain_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM matching_plot;
    DELETE FROM matching_plot_count;
    RETURN NULL;
END $$;

-- A park's networks, motorway distance or vocation changed: its plots' rows follow.
CREATE FUNCTION matching_site_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM matching_lock_zones(false);
    PERFORM matching_refresh_plots(ARRAY(
        SELECT t.terr_id FROM terrain t WHERE t.site_id IN (SELECT site_id FROM new_rows)));
    RETURN NULL;
END $$;

-- Zones added, moved or removed: the plots under the old and new outlines are rewritten.
CREATE FUNCTION matching_zones_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM matching_lock_zones(true);
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
    PERFORM matching_lock_zones(true);
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
