-- Incident tooling: the operator freezes a workspace (`tessera tenant freeze`): every
-- request refused, or only writes (`--read-only`), with a reason members see. The entry
-- function refuses at once, in the request's first round trip; its signature and result
-- type are unchanged, so running servers keep their prepared statements.
ALTER TABLE tenants ADD COLUMN frozen text;
ALTER TABLE tenants ADD COLUMN frozen_reason text;

CREATE OR REPLACE FUNCTION tessera_enter(p_slug text, p_token bytea, p_member uuid, p_stale_secs double precision)
    RETURNS TABLE (tenant_id uuid, schema_version integer, backend_pid integer,
                   mfa_required boolean, sso_only boolean, name text,
                   user_id uuid, role text, token_id uuid, scopes text, stale boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    t record;
BEGIN
    SELECT x.id, x.slug, x.db_role, x.schema_version, x.mfa_required, x.sso_only, x.name,
           x.frozen, x.frozen_reason INTO t
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
    -- Frozen by the operator: everything refused, or writes (this transaction is not read
    -- only). Only for a valid caller, or the server's own jobs (no credential at all): to
    -- anyone else a frozen workspace answers like any other, so freezing reveals nothing.
    IF (user_id IS NOT NULL OR (p_token IS NULL AND p_member IS NULL))
       AND (t.frozen = 'all' OR (t.frozen = 'writes'
                                 AND pg_catalog.current_setting('transaction_read_only') = 'off')) THEN
        RAISE EXCEPTION USING ERRCODE = 'TF001',
            MESSAGE = pg_catalog.format('workspace frozen (%s)', t.frozen),
            DETAIL = coalesce(t.frozen_reason, '');
    END IF;
    IF user_id IS NOT NULL THEN
        PERFORM pg_catalog.set_config('tessera.user_id', user_id::text, true);
    END IF;
    RETURN NEXT;
END
$$;
