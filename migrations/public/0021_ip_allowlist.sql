-- Per-workspace IP allowlists (docs/network-access.md).
--
-- A workspace's owners may restrict it to a list of networks. The list lives with the
-- workspace's other entry policies (MFA, SSO-only, freeze) so that the entry, which already
-- reads the workspace's row, decides in the same round trip whether the client's address
-- may reach it. An empty list (the default) restricts nothing.
ALTER TABLE tenants ADD COLUMN ip_allowlist cidr[] NOT NULL DEFAULT '{}';

-- Whether `addr` is inside one of `list`'s networks; an empty list allows every address, a
-- non-empty one refuses an unknown (NULL) address. Address families never match each other
-- (`<<=` is false across them), so an IPv4 client needs an IPv4 entry: the server passes
-- IPv4-mapped IPv6 peers as IPv4.
CREATE FUNCTION tessera_ip_allowed(list cidr[], addr inet) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.cardinality(list) = 0
        OR (addr IS NOT NULL
            AND EXISTS (SELECT 1 FROM pg_catalog.unnest(list) AS n(net)
                        WHERE addr OPERATOR(pg_catalog.<<=) n.net))
$$;
REVOKE ALL ON FUNCTION tessera_ip_allowed(cidr[], inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_ip_allowed(cidr[], inet) TO {{app}};

-- The workspace entry, now told the client's address and answering whether the workspace's
-- allowlist admits it (`ip_allowed`). One function rather than a wrapper around
-- `tessera_enter_v2`: it runs on every request, and a nested PL/pgSQL call costs a plan and
-- a loop of its own. Servers of the previous release keep calling `tessera_enter_v2` while
-- this one rolls out, and they do not enforce a list: set lists once the rollout is done
-- (docs/network-access.md).
CREATE FUNCTION tessera_enter_v3(p_slug text, p_token bytea, p_member uuid,
                                 p_stale_secs double precision, p_client inet)
    RETURNS TABLE (tenant_id uuid, schema_version integer, backend_pid integer,
                   mfa_required boolean, sso_only boolean, name text,
                   user_id uuid, role text, token_id uuid, scopes text, stale boolean,
                   replan boolean, ip_allowed boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    t record;
    planned text := pg_catalog.current_setting('tessera.planned_version', true);
BEGIN
    SELECT x.id, x.slug, x.db_role, x.schema_version, x.mfa_required, x.sso_only, x.name,
           x.frozen, x.frozen_reason, x.ip_allowlist INTO t
    FROM public.tenants x
    WHERE x.slug = p_slug AND x.state = 'active';
    IF NOT FOUND THEN
        RETURN;
    END IF;

    -- Decided before the role switch below: the workspace's role may not call it.
    ip_allowed := public.tessera_ip_allowed(t.ip_allowlist, p_client);
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
    -- Frozen by the operator: as in `tessera_enter`.
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
    -- As in `tessera_enter_v2`: a fresh session has nothing prepared, nothing to drop.
    replan := planned IS NOT NULL AND planned <> '' AND planned <> t.schema_version::text;
    IF planned IS DISTINCT FROM t.schema_version::text THEN
        PERFORM pg_catalog.set_config('tessera.planned_version', t.schema_version::text, false);
    END IF;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION tessera_enter_v3(text, bytea, uuid, double precision, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_enter_v3(text, bytea, uuid, double precision, inet) TO {{app}};

-- Owners set their own workspace's list (bound to the current tenant like the MFA policy);
-- answers the previous list, for the audit entry's before/after. The server checks the
-- entries and the lock-out guard first; the bound here is the last word.
CREATE FUNCTION tessera_set_ip_allowlist(list cidr[]) RETURNS cidr[]
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t uuid := public.tessera_tenant_of(current_setting('role')::name);
    before cidr[];
BEGIN
    IF list IS NULL OR cardinality(list) > 100 OR array_position(list, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an allowlist holds at most 100 networks' USING ERRCODE = 'check_violation';
    END IF;
    SELECT ip_allowlist INTO before FROM public.tenants WHERE id = t FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE public.tenants SET ip_allowlist = list WHERE id = t;
    RETURN before;
END
$$;
REVOKE ALL ON FUNCTION tessera_set_ip_allowlist(cidr[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_set_ip_allowlist(cidr[]) TO {{tenant_group}};

-- The current workspace's list, for its settings page.
CREATE FUNCTION tessera_ip_allowlist() RETURNS cidr[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ip_allowlist FROM public.tenants
    WHERE id = public.tessera_tenant_of(current_setting('role')::name)
$$;
REVOKE ALL ON FUNCTION tessera_ip_allowlist() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_ip_allowlist() TO {{tenant_group}};

-- A signed download link is followed from an address the workspace admits: the same rule
-- as every other request to it.
CREATE FUNCTION tessera_link_client_allowed(tid uuid, addr inet) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT public.tessera_ip_allowed(t.ip_allowlist, addr)
                     FROM public.tenants t WHERE t.id = tid), false)
$$;
REVOKE ALL ON FUNCTION tessera_link_client_allowed(uuid, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_link_client_allowed(uuid, inet) TO {{app}};
