-- Passwords and browser sessions. The runtime role reaches them only through the
-- SECURITY DEFINER functions below: it can sign a user up, fetch one password hash by email
-- (to verify it in the application), create a session, resolve a session token hash, and
-- revoke a session; it cannot list users or sessions.

ALTER TABLE users ADD COLUMN password_hash text;

CREATE TABLE sessions (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash          bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    aal                 text NOT NULL CHECK (aal IN ('aal1', 'aal2')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    idle_expires_at     timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    revoked_at          timestamptz,
    user_agent          text NOT NULL DEFAULT '',
    ip                  text NOT NULL DEFAULT '',
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY sessions_admin ON sessions TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON sessions FROM PUBLIC;

-- Sign-up: false when the email is taken.
CREATE FUNCTION tessera_signup(uid uuid, mail text, name text, hash text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH ins AS (
        INSERT INTO public.users (id, email, display_name, password_hash)
        VALUES (uid, mail, name, hash)
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM ins)
$$;

-- The user id and password hash for an email (no row: unknown email).
CREATE FUNCTION tessera_password_of(mail text) RETURNS TABLE (user_id uuid, password_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.password_hash FROM public.users u WHERE lower(u.email) = lower(mail)
$$;

CREATE FUNCTION tessera_session_create(sid uuid, uid uuid, hash bytea, level text, idle_secs integer,
                                       absolute_secs integer, agent text, addr text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.sessions (id, user_id, token_hash, aal, idle_expires_at, absolute_expires_at, user_agent, ip)
    VALUES (sid, uid, hash, level, now() + make_interval(secs => idle_secs),
            now() + make_interval(secs => absolute_secs), left(agent, 300), left(addr, 64))
$$;

-- Resolves a session token hash, sliding the idle expiry (written at most once a minute).
-- No row: unknown, revoked or expired.
CREATE FUNCTION tessera_session_touch(hash bytea, idle_secs integer)
    RETURNS TABLE (session_id uuid, user_id uuid, aal text)
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
    RETURNING s.id, s.user_id, s.aal;
    IF NOT FOUND THEN
        RETURN QUERY
        SELECT s.id, s.user_id, s.aal FROM public.sessions s
         WHERE s.token_hash = hash AND s.revoked_at IS NULL
           AND s.idle_expires_at > now() AND s.absolute_expires_at > now();
    END IF;
END
$$;

CREATE FUNCTION tessera_session_revoke(sid uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = sid
$$;

REVOKE ALL ON FUNCTION tessera_signup(uuid, text, text, text), tessera_password_of(text),
    tessera_session_create(uuid, uuid, bytea, text, integer, integer, text, text),
    tessera_session_touch(bytea, integer), tessera_session_revoke(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_signup(uuid, text, text, text), tessera_password_of(text),
    tessera_session_create(uuid, uuid, bytea, text, integer, integer, text, text),
    tessera_session_touch(bytea, integer), tessera_session_revoke(uuid) TO {{app}};

-- Self-service: a user's own sessions and password.
CREATE FUNCTION tessera_sessions_of(uid uuid)
    RETURNS TABLE (id uuid, aal text, created_at timestamptz, last_seen_at timestamptz,
                   user_agent text, ip text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.aal, s.created_at, s.last_seen_at, s.user_agent, s.ip FROM public.sessions s
    WHERE s.user_id = uid AND s.revoked_at IS NULL
      AND s.idle_expires_at > now() AND s.absolute_expires_at > now()
    ORDER BY s.created_at
$$;

-- Revokes the user's sessions: one (sid), or all but `keep`. Returns how many.
CREATE FUNCTION tessera_sessions_revoke(uid uuid, sid uuid, keep uuid) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH r AS (
        UPDATE public.sessions SET revoked_at = now()
        WHERE user_id = uid AND revoked_at IS NULL
          AND (sid IS NULL OR id = sid) AND (keep IS NULL OR id <> keep)
        RETURNING 1)
    SELECT count(*)::integer FROM r
$$;

CREATE FUNCTION tessera_set_password(uid uuid, hash text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.users SET password_hash = hash WHERE id = uid
$$;

CREATE FUNCTION tessera_password_of_user(uid uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT password_hash FROM public.users WHERE id = uid
$$;

REVOKE ALL ON FUNCTION tessera_sessions_of(uuid), tessera_sessions_revoke(uuid, uuid, uuid),
    tessera_set_password(uuid, text), tessera_password_of_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_sessions_of(uuid), tessera_sessions_revoke(uuid, uuid, uuid),
    tessera_set_password(uuid, text), tessera_password_of_user(uuid) TO {{app}};
