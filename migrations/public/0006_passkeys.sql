-- Passkeys (WebAuthn) and the server-side state of WebAuthn ceremonies.
--
-- A passkey row holds the credential as webauthn-rs serialises it (public key, counter,
-- flags: nothing secret). Credential ids are unique across all users, so a discoverable
-- sign-in finds its user from the credential alone. Ceremony state (the challenge) lives
-- server-side, expires after a short time and is taken exactly once.

CREATE TABLE passkeys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cred_id      bytea NOT NULL,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    credential   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    CONSTRAINT passkeys_cred_id_key UNIQUE (cred_id)
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);
ALTER TABLE passkeys ENABLE ROW LEVEL SECURITY;
ALTER TABLE passkeys FORCE ROW LEVEL SECURITY;
CREATE POLICY passkeys_own ON passkeys TO {{app}}
    USING (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid)
    WITH CHECK (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid);
CREATE POLICY passkeys_admin ON passkeys TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON passkeys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON passkeys TO {{app}};

CREATE TABLE webauthn_ceremonies (
    id         uuid PRIMARY KEY,
    -- The user the ceremony is for; NULL for a discoverable sign-in.
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('register', 'authenticate', 'discover')),
    state      jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at);
ALTER TABLE webauthn_ceremonies ENABLE ROW LEVEL SECURITY;
ALTER TABLE webauthn_ceremonies FORCE ROW LEVEL SECURITY;
CREATE POLICY webauthn_ceremonies_admin ON webauthn_ceremonies TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON webauthn_ceremonies FROM PUBLIC;

-- Stores a ceremony's state; expired ones are swept on the way.
CREATE FUNCTION tessera_ceremony_put(cid uuid, uid uuid, kind text, st jsonb, ttl_secs integer) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM public.webauthn_ceremonies WHERE expires_at < now() - interval '1 minute';
    INSERT INTO public.webauthn_ceremonies (id, user_id, purpose, state, expires_at)
    VALUES (cid, uid, kind, st, now() + make_interval(secs => ttl_secs));
$$;

-- Takes a live ceremony of the given purpose, exactly once. No row: unknown, used or expired.
CREATE FUNCTION tessera_ceremony_take(cid uuid, kind text) RETURNS TABLE (user_id uuid, state jsonb)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM public.webauthn_ceremonies c
    WHERE c.id = cid AND c.purpose = kind
    RETURNING c.user_id, CASE WHEN c.expires_at > now() THEN c.state END
$$;

-- The owner of a credential id (discoverable sign-in).
CREATE FUNCTION tessera_passkey_owner(cred bytea) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT user_id FROM public.passkeys WHERE cred_id = cred
$$;

-- A passkey is a second factor too.
CREATE OR REPLACE FUNCTION tessera_has_second_factor(uid uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.user_totp WHERE user_id = uid AND confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM public.passkeys WHERE user_id = uid)
$$;

REVOKE ALL ON FUNCTION tessera_ceremony_put(uuid, uuid, text, jsonb, integer),
    tessera_ceremony_take(uuid, text), tessera_passkey_owner(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_ceremony_put(uuid, uuid, text, jsonb, integer),
    tessera_ceremony_take(uuid, text), tessera_passkey_owner(bytea) TO {{app}};
