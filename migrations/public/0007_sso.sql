-- Per-workspace OIDC single sign-on.
--
-- A workspace's provider (issuer, client id; the client secret is in the tenant secrets
-- store, sealed) signs people into that workspace only: identities are linked by
-- (workspace, issuer, subject), and a session created by a workspace's SSO is bound to that
-- workspace (`sessions.sso_tenant_id`) and refused by every other one. In-flight
-- authorization requests (state, nonce, PKCE verifier, and a hash of the browser-binding
-- cookie) are stored server-side, expire after ten minutes and are used once.

ALTER TABLE tenants ADD COLUMN sso_only boolean NOT NULL DEFAULT false;
ALTER TABLE sessions ADD COLUMN sso_tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE;

CREATE TABLE tenant_sso (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer       text NOT NULL CHECK (char_length(issuer) BETWEEN 8 AND 500),
    client_id    text NOT NULL CHECK (char_length(client_id) BETWEEN 1 AND 200),
    -- Role of members created just in time; NULL: invite-only.
    jit_role     text CHECK (jit_role IN ('admin', 'member')),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sso_identities (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    issuer     text NOT NULL,
    subject    text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, issuer, subject)
);

CREATE TABLE oidc_flows (
    state_hash   bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    browser_hash bytea NOT NULL CHECK (octet_length(browser_hash) = 32),
    nonce        text NOT NULL,
    pkce_verifier text NOT NULL,
    expires_at   timestamptz NOT NULL
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_sso', 'sso_identities', 'oidc_flows'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY %I ON %I TO {{tenant_group}}
            USING (tenant_id = tessera_tenant_of(current_user))
            WITH CHECK (tenant_id = tessera_tenant_of(current_user))$p$, t || '_tenant', t);
        EXECUTE format('CREATE POLICY %I ON %I TO {{migrator}} USING (true) WITH CHECK (true)',
            t || '_admin', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_sso, oidc_flows TO {{tenant_group}};
GRANT SELECT, INSERT ON sso_identities TO {{tenant_group}};

-- SSO-only sign-in, set like the MFA policy (see 0005).
CREATE FUNCTION tessera_set_sso_only(enabled boolean) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE public.tenants SET sso_only = enabled
        WHERE id = public.tessera_tenant_of(current_setting('role')::name)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;
REVOKE ALL ON FUNCTION tessera_set_sso_only(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_set_sso_only(boolean) TO {{tenant_group}};

-- Just-in-time account for an SSO sign-in: a new user without a password. NULL when the
-- email belongs to an existing account (which is never taken over by an SSO assertion).
CREATE FUNCTION tessera_sso_create_user(uid uuid, mail text, name text) RETURNS uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.users (id, email, display_name) VALUES (uid, mail, name)
    ON CONFLICT ((lower(email))) DO NOTHING
    RETURNING id
$$;
REVOKE ALL ON FUNCTION tessera_sso_create_user(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_sso_create_user(uuid, text, text) TO {{tenant_group}};

-- A session bound to one workspace's SSO.
CREATE FUNCTION tessera_session_create_sso(sid uuid, uid uuid, hash bytea, idle_secs integer,
                                           absolute_secs integer, agent text, addr text, tenant uuid)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.sessions (id, user_id, token_hash, aal, idle_expires_at, absolute_expires_at,
                                 user_agent, ip, sso_tenant_id)
    VALUES (sid, uid, hash, 'aal1', now() + make_interval(secs => idle_secs),
            now() + make_interval(secs => absolute_secs), left(agent, 300), left(addr, 64), tenant)
$$;

-- Resolution also returns the workspace an SSO session is bound to.
DROP FUNCTION tessera_session_touch(bytea, integer);
CREATE FUNCTION tessera_session_touch(hash bytea, idle_secs integer)
    RETURNS TABLE (session_id uuid, user_id uuid, aal text, factor_verified_at timestamptz,
                   sso_tenant_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    UPDATE public.sessions s
       SET last_seen_at = now(), idle_expires_at = least(now() + make_interval(secs => idle_secs), s.absolute_expires_at)
     WHERE s.token_hash = hash AND s.revoked_at IS NULL
       AND s.idle_expires_at > now() AND s.absolute_expires_at > now()
       AND s.last_seen_at < now() - interval '60 seconds'
    RETURNING s.id, s.user_id, s.aal, s.factor_verified_at, s.sso_tenant_id;
    IF NOT FOUND THEN
        RETURN QUERY
        SELECT s.id, s.user_id, s.aal, s.factor_verified_at, s.sso_tenant_id FROM public.sessions s
         WHERE s.token_hash = hash AND s.revoked_at IS NULL
           AND s.idle_expires_at > now() AND s.absolute_expires_at > now();
    END IF;
END
$$;

-- A step-up keeps the workspace binding of the session it replaces.
CREATE OR REPLACE FUNCTION tessera_session_step_up(old_sid uuid, new_sid uuid, new_hash bytea, idle_secs integer)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE s public.sessions;
BEGIN
    UPDATE public.sessions SET revoked_at = now()
     WHERE id = old_sid AND revoked_at IS NULL
       AND idle_expires_at > now() AND absolute_expires_at > now()
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO public.sessions (id, user_id, token_hash, aal, idle_expires_at, absolute_expires_at,
                                 user_agent, ip, factor_verified_at, sso_tenant_id)
    VALUES (new_sid, s.user_id, new_hash, 'aal2',
            least(now() + make_interval(secs => idle_secs), s.absolute_expires_at),
            s.absolute_expires_at, s.user_agent, s.ip, now(), s.sso_tenant_id);
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION tessera_session_create_sso(uuid, uuid, bytea, integer, integer, text, text, uuid),
    tessera_session_touch(bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_session_create_sso(uuid, uuid, bytea, integer, integer, text, text, uuid),
    tessera_session_touch(bytea, integer) TO {{app}};
