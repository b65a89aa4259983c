-- Second factors (TOTP, recovery codes), session assurance step-up, and the per-workspace
-- MFA policy.
--
-- A password sign-in of a user who has a second factor yields a `pending` session: it can do
-- nothing but complete the second factor, which replaces it with a new `aal2` session (new id,
-- new token: no fixation). `factor_verified_at` records the last second-factor check of a
-- session, so sensitive changes can demand a recent one.
--
-- Factor rows are keyed by user and reached by the runtime role only inside a transaction
-- scoped to that user (`tessera.user_id`), like the user's own row. TOTP seeds are sealed
-- with a key derived from the master key for the user; recovery codes are stored as SHA-256.

ALTER TABLE sessions DROP CONSTRAINT sessions_aal_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_aal_check CHECK (aal IN ('pending', 'aal1', 'aal2'));
ALTER TABLE sessions ADD COLUMN factor_verified_at timestamptz;

CREATE TABLE user_totp (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- Bound into the seal's associated data: a sealed seed cannot be moved to another row.
    id           uuid NOT NULL,
    sealed_seed  bytea NOT NULL,
    -- NULL while enrollment awaits its first code.
    confirmed_at timestamptz,
    -- The last accepted time step: a code is never accepted twice.
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, code_hash)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['user_totp', 'recovery_codes'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY %I ON %I TO {{app}}
            USING (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid)
            WITH CHECK (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid)$p$,
            t || '_own', t);
        EXECUTE format('CREATE POLICY %I ON %I TO {{migrator}} USING (true) WITH CHECK (true)',
            t || '_admin', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO {{app}}', t);
    END LOOP;
END
$$;

-- Whether the user has a confirmed second factor (decides `pending` at password sign-in).
CREATE FUNCTION tessera_has_second_factor(uid uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.user_totp WHERE user_id = uid AND confirmed_at IS NOT NULL)
$$;

-- Replaces session `old_sid` (live, same user) with a new aal2 session; the old one is revoked.
-- Keeps the absolute expiry of the original sign-in. False when the old session is not live.
CREATE FUNCTION tessera_session_step_up(old_sid uuid, new_sid uuid, new_hash bytea, idle_secs integer)
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
                                 user_agent, ip, factor_verified_at)
    VALUES (new_sid, s.user_id, new_hash, 'aal2',
            least(now() + make_interval(secs => idle_secs), s.absolute_expires_at),
            s.absolute_expires_at, s.user_agent, s.ip, now());
    RETURN true;
END
$$;

-- Records a fresh second-factor check on a live aal2 session.
CREATE FUNCTION tessera_session_factor_checked(sid uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.sessions SET factor_verified_at = now() WHERE id = sid AND revoked_at IS NULL
$$;

-- Resolution now also returns when the session last checked a second factor.
DROP FUNCTION tessera_session_touch(bytea, integer);
CREATE FUNCTION tessera_session_touch(hash bytea, idle_secs integer)
    RETURNS TABLE (session_id uuid, user_id uuid, aal text, factor_verified_at timestamptz)
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
    RETURNING s.id, s.user_id, s.aal, s.factor_verified_at;
    IF NOT FOUND THEN
        RETURN QUERY
        SELECT s.id, s.user_id, s.aal, s.factor_verified_at FROM public.sessions s
         WHERE s.token_hash = hash AND s.revoked_at IS NULL
           AND s.idle_expires_at > now() AND s.absolute_expires_at > now();
    END IF;
END
$$;

REVOKE ALL ON FUNCTION tessera_has_second_factor(uuid),
    tessera_session_step_up(uuid, uuid, bytea, integer), tessera_session_factor_checked(uuid),
    tessera_session_touch(bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_has_second_factor(uuid),
    tessera_session_step_up(uuid, uuid, bytea, integer), tessera_session_factor_checked(uuid),
    tessera_session_touch(bytea, integer) TO {{app}};

-- Workspace MFA policy: when set, the workspace refuses its data to sessions below aal2 on
-- every request. Set by owners through a function bound to the current tenant: inside a
-- SECURITY DEFINER function `current_user` is the owner, but the `role` setting still names the
-- tenant role the transaction switched to, and it must agree with `tessera.tenant_id`.
ALTER TABLE tenants ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

CREATE FUNCTION tessera_set_mfa_required(required boolean) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE public.tenants SET mfa_required = required
        WHERE id = public.tessera_tenant_of(current_setting('role')::name)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;
REVOKE ALL ON FUNCTION tessera_set_mfa_required(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_set_mfa_required(boolean) TO {{tenant_group}};
