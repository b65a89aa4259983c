-- What `/readyz` needs from the migration ledger without the runtime role reading it: the
-- newest applied public and tenant (template) versions.
CREATE FUNCTION tessera_migration_state()
    RETURNS TABLE (public_version integer, tenant_version integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT max(m.version) FROM public.schema_migrations m WHERE m.scope = 'public'),
           (SELECT max(m.version) FROM public.schema_migrations m WHERE m.scope = 'tenant')
$$;
REVOKE ALL ON FUNCTION tessera_migration_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_migration_state() TO {{app}};
