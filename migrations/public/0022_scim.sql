-- SCIM 2.0 provisioning (docs/scim.md): a workspace's identity provider creates, updates,
-- deactivates and removes its members, authenticated by a SCIM token of that workspace.
--
-- Tokens live here rather than in `api_tokens`: they belong to the workspace, not to the
-- person who minted them (an integration must not stop when its admin leaves), and carry no
-- role. They are reached only through the functions below: the runtime role checks one, the
-- workspace's role mints, lists and revokes its own.
CREATE TABLE scim_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT scim_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX scim_tokens_tenant_idx ON scim_tokens (tenant_id);
ALTER TABLE scim_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY scim_tokens_admin ON scim_tokens TO {{migrator}} USING (true) WITH CHECK (true);

-- The token presented to `/scim/v2/<slug>/`: its id when it is a live token of the active
-- workspace with that slug, else NULL (a token of another workspace is unknown here).
-- `last_used_at` is written at most once a minute.
CREATE FUNCTION tessera_scim_token_check(p_slug text, p_hash bytea) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k record;
BEGIN
    SELECT s.id, s.last_used_at INTO k
    FROM public.scim_tokens s JOIN public.tenants t ON t.id = s.tenant_id
    WHERE s.token_hash = p_hash AND t.slug = p_slug AND t.state = 'active'
      AND s.revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds' THEN
        UPDATE public.scim_tokens SET last_used_at = now() WHERE id = k.id;
    END IF;
    RETURN k.id;
END
$$;
REVOKE ALL ON FUNCTION tessera_scim_token_check(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_scim_token_check(text, bytea) TO {{app}};

-- Mints a token of the current workspace.
CREATE FUNCTION tessera_scim_token_mint(p_id uuid, p_hash bytea, p_name text, p_by uuid) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH t AS (SELECT public.tessera_tenant_of(current_setting('role')::name) AS id),
    i AS (
        INSERT INTO public.scim_tokens (id, tenant_id, name, token_hash, created_by)
        SELECT p_id, t.id, p_name, p_hash, p_by FROM t WHERE t.id IS NOT NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM i)
$$;
REVOKE ALL ON FUNCTION tessera_scim_token_mint(uuid, bytea, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_scim_token_mint(uuid, bytea, text, uuid) TO {{tenant_group}};

-- The current workspace's tokens (never their hashes).
CREATE FUNCTION tessera_scim_tokens()
    RETURNS TABLE (id uuid, name text, created_by uuid, created_at timestamptz,
                   last_used_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.name, s.created_by, s.created_at, s.last_used_at, s.revoked_at
    FROM public.scim_tokens s
    WHERE s.tenant_id = public.tessera_tenant_of(current_setting('role')::name)
    ORDER BY s.created_at DESC
$$;
REVOKE ALL ON FUNCTION tessera_scim_tokens() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_scim_tokens() TO {{tenant_group}};

-- Revokes a token of the current workspace; false when it has no such live token.
CREATE FUNCTION tessera_scim_token_revoke(p_id uuid) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE public.scim_tokens SET revoked_at = now()
        WHERE id = p_id AND revoked_at IS NULL
          AND tenant_id = public.tessera_tenant_of(current_setting('role')::name)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;
REVOKE ALL ON FUNCTION tessera_scim_token_revoke(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_scim_token_revoke(uuid) TO {{tenant_group}};

-- The account for an address the workspace's identity provider provisions: the existing one,
-- or a new one without a password and with the address unverified (the provider's word
-- proves nothing to other workspaces; the person signs in through the workspace's SSO, or
-- sets a password by a reset sent to the address). Only inside a workspace transaction.
CREATE FUNCTION tessera_scim_account(mail text, name text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid;
BEGIN
    IF public.tessera_tenant_of(current_setting('role')::name) IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT u.id INTO uid FROM public.users u WHERE lower(u.email) = lower(mail);
    IF uid IS NULL THEN
        INSERT INTO public.users (id, email, display_name)
        VALUES (gen_random_uuid(), mail, coalesce(nullif(left(btrim(name), 200), ''), left(mail, 200)))
        RETURNING id INTO uid;
    END IF;
    RETURN uid;
END
$$;
REVOKE ALL ON FUNCTION tessera_scim_account(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_scim_account(text, text) TO {{tenant_group}};

-- SCIM changes are audited as the provider's: actor type `scim`, actor id the token's id.
-- The check is widened in one statement; every existing row passes the narrower one it
-- replaces, so it is left NOT VALID rather than scanning the whole audit log under the
-- table's lock (new rows are checked all the same).
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_actor_type_check,
    ADD CONSTRAINT audit_log_actor_type_check
        CHECK (actor_type IN ('token', 'user', 'system', 'scim')) NOT VALID;
