-- The workspace entry, telling the server when this database session's prepared statements
-- were planned for another schema version.
--
-- PostgreSQL re-plans a prepared statement when `search_path` changes, but refuses to run
-- one whose result type changed ("cached plan must not change result type"), which is what
-- happens when the same statement runs for workspaces on either side of a migration while
-- it rolls out. The session remembers the schema version it last entered
-- (`tessera.planned_version`, a session-level setting); when a workspace at another version
-- enters, `replan` is true and the server drops its prepared statements (its own cache and
-- `DEALLOCATE ALL`, which PgBouncer also understands) before the first tenant statement.
-- Kept in the session, not in each server process, because behind PgBouncer in transaction
-- mode one database session serves many server processes and replicas in turn.
--
-- A new function, because the result type grows by one column: servers of the previous
-- release keep calling `tessera_enter` while this one rolls out.
CREATE FUNCTION tessera_enter_v2(p_slug text, p_token bytea, p_member uuid, p_stale_secs double precision)
    RETURNS TABLE (tenant_id uuid, schema_version integer, backend_pid integer,
                   mfa_required boolean, sso_only boolean, name text,
                   user_id uuid, role text, token_id uuid, scopes text, stale boolean,
                   replan boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    e record;
    planned text := pg_catalog.current_setting('tessera.planned_version', true);
BEGIN
    FOR e IN SELECT * FROM public.tessera_enter(p_slug, p_token, p_member, p_stale_secs) LOOP
        tenant_id := e.tenant_id;
        schema_version := e.schema_version;
        backend_pid := e.backend_pid;
        mfa_required := e.mfa_required;
        sso_only := e.sso_only;
        name := e.name;
        user_id := e.user_id;
        role := e.role;
        token_id := e.token_id;
        scopes := e.scopes;
        stale := e.stale;
        -- A fresh session has nothing prepared: nothing to drop.
        replan := planned IS NOT NULL AND planned <> '' AND planned <> e.schema_version::text;
        IF planned IS DISTINCT FROM e.schema_version::text THEN
            PERFORM pg_catalog.set_config('tessera.planned_version', e.schema_version::text, false);
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION tessera_enter_v2(text, bytea, uuid, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_enter_v2(text, bytea, uuid, double precision) TO {{app}};
