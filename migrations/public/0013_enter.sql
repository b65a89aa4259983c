-- Entering a workspace in one round trip.
--
-- A tenant request's first message is one simple query:
--     BEGIN READ ONLY; SELECT * FROM public.tessera_enter(<slug>, <token hash>, <member>, <secs>)
-- The function resolves the slug, scopes the transaction to the workspace (search_path, role
-- and tessera.tenant_id, all transaction-local), and then, already as the workspace's own
-- role and under its Row-Level Security, looks up the caller: an API token by its hash, or a
-- session user's membership. An unknown or deleted slug returns no row and sets nothing; a
-- credential that is not valid in the workspace returns the workspace with NULL caller
-- columns, which the server refuses exactly like an unknown workspace.
--
-- SECURITY INVOKER (the default): PostgreSQL refuses SET ROLE inside SECURITY DEFINER
-- functions, and the lookups must run with the workspace role's rights, not the owner's.
-- Every name is schema-qualified, so the caller's search_path cannot redirect a lookup.
CREATE FUNCTION tessera_enter(p_slug text, p_token bytea, p_member uuid, p_stale_secs double precision)
    RETURNS TABLE (tenant_id uuid, schema_version integer, backend_pid integer,
                   mfa_required boolean, sso_only boolean, name text,
                   user_id uuid, role text, token_id uuid, scopes text, stale boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    t record;
BEGIN
    SELECT x.id, x.slug, x.db_role, x.schema_version, x.mfa_required, x.sso_only, x.name INTO t
    FROM public.tenants x
    WHERE x.slug = p_slug AND x.state = 'active';
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM pg_catalog.set_config('search_path', pg_catalog.format('%I, public', 'tenant_' || t.slug), true),
            pg_catalog.set_config('role', t.db_role, true),
            pg_catalog.set_config('tessera.tenant_id', t.id::text, true);
    tenant_id := t.id;
    schema_version := t.schema_version;
    backend_pid := pg_catalog.pg_backend_pid();
    mfa_required := t.mfa_required;
    sso_only := t.sso_only;
    name := t.name;
    IF p_token IS NOT NULL THEN
        SELECT k.user_id, m.role, k.id, pg_catalog.array_to_string(k.scopes, ','),
               (k.last_used_at IS NULL
                OR k.last_used_at < pg_catalog.now() - pg_catalog.make_interval(secs => p_stale_secs))
        INTO user_id, role, token_id, scopes, stale
        FROM public.api_tokens k
        JOIN public.memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
        WHERE k.token_hash = p_token AND k.tenant_id = t.id
          AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > pg_catalog.now());
    ELSIF p_member IS NOT NULL THEN
        SELECT m.user_id, m.role INTO user_id, role
        FROM public.memberships m
        WHERE m.tenant_id = t.id AND m.user_id = p_member;
    END IF;
    IF user_id IS NOT NULL THEN
        PERFORM pg_catalog.set_config('tessera.user_id', user_id::text, true);
    END IF;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION tessera_enter(text, bytea, uuid, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_enter(text, bytea, uuid, double precision) TO {{app}};

-- The tenant check behind every tenant-scoped policy in `public`, same rule as in 0001, in
-- PL/pgSQL instead of SQL: a SQL function that cannot be inlined (this one is SECURITY
-- DEFINER) is planned again for every statement that calls it, while PL/pgSQL keeps its plan
-- for the session. Every request's credential lookup runs through two such policies; the
-- lookup got about 45% faster (docs/benchmarks.md).
CREATE OR REPLACE FUNCTION tessera_tenant_of(role_name name) RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT t.id
            FROM public.tenants t
            WHERE t.id = nullif(current_setting('tessera.tenant_id', true), '')::uuid
              AND t.db_role = role_name
              AND t.state = 'active');
END
$$;
