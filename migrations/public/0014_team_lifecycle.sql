-- Teams bring themselves in: workspace sign-up, invitations, verified addresses, password
-- resets, mail, and the account security log.
--
-- The runtime role never holds the migrator's rights. What it may do beyond its own rows, it
-- does through the SECURITY DEFINER functions below, each of which validates its input and
-- does one thing: create a workspace for a signed-in user, look up an invitation by its token
-- hash, queue a mail, use a single-use account token. Every token is stored as its SHA-256
-- only; every mail payload (which holds a token until it is sent) is sealed by the server
-- under a key the database never sees, and erased once the mail is sent.

-- Verified addresses. An address is verified by a link sent to it, by accepting an invitation
-- sent to it, by completing a password reset sent to it, or by an identity provider's
-- assertion (SSO).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Workspace provisioning, callable by the runtime role: the registry row, the workspace's own
-- NOLOGIN role (granted to the runtime role, which must become it), the schema cloned from the
-- pre-migrated template, the audit chain's wrapped key and genesis head, and the creator as
-- its owner, in the caller's transaction. The role name derives from the id, never from
-- input; the slug is checked by the registry's constraint; the template must be at
-- `expected_version`. Returns 'created', 'taken' or 'template' (not at that version).
CREATE FUNCTION tessera_provision_workspace(tid uuid, ws_slug text, ws_name text,
                                            expected_version integer, wrapped_audit_key bytea,
                                            genesis bytea, owner_id uuid)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    role_name text := {{tenant_role_prefix}} || replace(tid::text, '-', '');
    schema_name text := 'tenant_' || ws_slug;
    template integer;
BEGIN
    SELECT version INTO template FROM public.template_state FOR SHARE;
    IF template IS DISTINCT FROM expected_version THEN
        RETURN 'template';
    END IF;
    BEGIN
        INSERT INTO public.tenants (id, slug, name, db_role, schema_version)
        VALUES (tid, ws_slug, ws_name, role_name, expected_version);
    EXCEPTION WHEN unique_violation THEN
        RETURN 'taken';
    END;
    EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT NOBYPASSRLS IN ROLE %I', role_name, {{tenant_group_name}});
    EXECUTE format('GRANT %I TO %I', role_name, {{app_name}});
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', schema_name);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, role_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                   schema_name, role_name);
    PERFORM public.tessera_clone_schema('tessera_template', schema_name);
    INSERT INTO public.tenant_keys (tenant_id, purpose, wrapped) VALUES (tid, 'audit', wrapped_audit_key);
    INSERT INTO public.audit_heads (tenant_id, seq, hash) VALUES (tid, 0, genesis);
    IF owner_id IS NOT NULL THEN
        INSERT INTO public.memberships (tenant_id, user_id, role) VALUES (tid, owner_id, 'owner');
    END IF;
    RETURN 'created';
END
$$;
REVOKE ALL ON FUNCTION tessera_provision_workspace(uuid, text, text, integer, bytea, bytea, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_provision_workspace(uuid, text, text, integer, bytea, bytea, uuid) TO {{app}};

-- Invitations: a workspace invites an address with a role (and teams). The token is 256
-- random bits, stored only as its SHA-256, single-use, expiring, and bound to its workspace
-- (looked up with the workspace it names). One pending invitation per address and workspace.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    team_ids     uuid[] NOT NULL DEFAULT '{}',
    token_hash   bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    invited_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    sent_count   integer NOT NULL DEFAULT 1,
    last_sent_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_by   uuid,
    accepted_at  timestamptz,
    accepted_by  uuid,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, created_at);
CREATE UNIQUE INDEX invitations_pending_key ON invitations (tenant_id, lower(email))
    WHERE revoked_at IS NULL AND accepted_at IS NULL;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_tenant ON invitations TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user))
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY invitations_admin ON invitations TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON invitations FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON invitations TO {{tenant_group}};

-- An invitation by its token hash and the workspace it must belong to (a token of another
-- workspace finds nothing, like an unknown one), for acceptance and its preview.
CREATE FUNCTION tessera_invitation_by_token(hash bytea, ws_slug text)
    RETURNS TABLE (id uuid, tenant_id uuid, slug text, workspace_name text, email text, role text,
                   team_ids uuid[], expires_at timestamptz, revoked_at timestamptz,
                   accepted_at timestamptz, mfa_required boolean, sso_only boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.id, i.tenant_id, t.slug, t.name, i.email, i.role, i.team_ids, i.expires_at,
           i.revoked_at, i.accepted_at, t.mfa_required, t.sso_only
    FROM public.invitations i
    JOIN public.tenants t ON t.id = i.tenant_id AND t.state = 'active'
    WHERE i.token_hash = hash AND t.slug = ws_slug
$$;
REVOKE ALL ON FUNCTION tessera_invitation_by_token(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_invitation_by_token(bytea, text) TO {{app}};

-- An invited person's account, seen from inside the inviting workspace (where users' rows are
-- otherwise visible for members only): found by the invited address, or created for it. Only
-- for an address with a pending invitation of the caller's workspace, so a workspace cannot
-- reach arbitrary accounts through it. Used when an identity provider asserts the address.
CREATE FUNCTION tessera_invited_user(mail text, name text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid uuid := public.tessera_tenant_of(current_setting('role')::name);
    uid uuid;
BEGIN
    IF tid IS NULL OR NOT EXISTS (
        SELECT 1 FROM public.invitations i
        WHERE i.tenant_id = tid AND lower(i.email) = lower(mail)
          AND i.revoked_at IS NULL AND i.accepted_at IS NULL AND i.expires_at > now()) THEN
        RETURN NULL;
    END IF;
    SELECT u.id INTO uid FROM public.users u WHERE lower(u.email) = lower(mail);
    IF uid IS NULL THEN
        INSERT INTO public.users (id, email, display_name, email_verified_at)
        VALUES (gen_random_uuid(), mail, left(name, 200), now())
        RETURNING id INTO uid;
    END IF;
    RETURN uid;
END
$$;
REVOKE ALL ON FUNCTION tessera_invited_user(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_invited_user(text, text) TO {{tenant_group}};

-- Marks the caller's own address verified (the caller proved control of it).
CREATE FUNCTION tessera_mark_email_verified(uid uuid, mail text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE public.users SET email_verified_at = coalesce(email_verified_at, now())
         WHERE id = uid AND lower(email) = lower(mail)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;
REVOKE ALL ON FUNCTION tessera_mark_email_verified(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_mark_email_verified(uuid, text) TO {{app}}, {{tenant_group}};

-- Single-use account tokens: address verification (24 h) and password reset (30 min).
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    -- The address the token was sent to: a change of address voids it.
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id);
ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY account_tokens_admin ON account_tokens TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON account_tokens FROM PUBLIC;

-- The mail outbox. A row is written in the transaction of the change it reports and sent by
-- the worker (a `mail` job). `sealed` holds the template's values (a link's token included),
-- sealed by the server and bound to the row; it is erased once the mail is sent or given up.
CREATE TABLE mail_outbox (
    id         uuid PRIMARY KEY,
    -- The workspace a mail is about, if any (removed with it).
    tenant_id  uuid REFERENCES tenants (id) ON DELETE CASCADE,
    to_address text NOT NULL CHECK (char_length(to_address) BETWEEN 3 AND 254),
    template   text NOT NULL CHECK (char_length(template) BETWEEN 1 AND 64),
    sealed     bytea,
    status     text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts   integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX mail_outbox_tenant_idx ON mail_outbox (tenant_id);
ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY mail_outbox_admin ON mail_outbox TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON mail_outbox FROM PUBLIC;

-- Jobs that belong to no workspace (account mail) have no tenant.
ALTER TABLE jobs ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('export', 'export_expire', 'webhook', 'mail')) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_kind_check;

-- Queues a mail and its delivery job. Called from a tenant transaction, the mail belongs to
-- that workspace; from the runtime role's own, to none.
CREATE FUNCTION tessera_mail_enqueue(mid uuid, addr text, tmpl text, payload bytea) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.mail_outbox (id, tenant_id, to_address, template, sealed)
    VALUES (mid, public.tessera_tenant_of(current_setting('role')::name), addr, tmpl, payload);
    INSERT INTO public.jobs (tenant_id, kind, ref_id) VALUES (NULL, 'mail', mid);
$$;
REVOKE ALL ON FUNCTION tessera_mail_enqueue(uuid, text, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_mail_enqueue(uuid, text, text, bytea) TO {{app}}, {{tenant_group}};

-- The worker's view of one queued mail.
CREATE FUNCTION tessera_mail_take(mid uuid)
    RETURNS TABLE (to_address text, template text, sealed bytea, status text, tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.to_address, m.template, m.sealed, m.status, m.tenant_id
    FROM public.mail_outbox m WHERE m.id = mid
$$;

-- Records an attempt: sent (the payload is erased), failed and retried later, or given up
-- (`final`: the payload is erased too).
CREATE FUNCTION tessera_mail_settle(mid uuid, ok boolean, final boolean, error text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.mail_outbox
       SET attempts = attempts + 1,
           status = CASE WHEN ok THEN 'sent' WHEN final THEN 'failed' ELSE status END,
           sent_at = CASE WHEN ok THEN now() ELSE sent_at END,
           sealed = CASE WHEN ok OR final THEN NULL ELSE sealed END,
           last_error = CASE WHEN ok THEN NULL ELSE left(error, 500) END
     WHERE id = mid
$$;
REVOKE ALL ON FUNCTION tessera_mail_take(uuid), tessera_mail_settle(uuid, boolean, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_mail_take(uuid), tessera_mail_settle(uuid, boolean, boolean, text) TO {{app}};

-- Issues an account token for the signed-in user (address verification), to the address the
-- account has now; returns that address (NULL: already verified, nothing issued).
CREATE FUNCTION tessera_verification_issue(uid uuid, hash bytea, ttl_secs integer) RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.account_tokens (token_hash, user_id, purpose, email, expires_at)
    SELECT hash, u.id, 'verify_email', u.email, now() + make_interval(secs => ttl_secs)
    FROM public.users u WHERE u.id = uid AND u.email_verified_at IS NULL
    RETURNING email
$$;

-- A password reset request: the same single statement whether or not the address has an
-- account, so the answer and its timing say nothing. Only accounts that may sign in with a
-- password get a token and a mail: an account with no password that signs in through an
-- identity provider does not (a reset would give it a way in that bypasses the provider).
CREATE FUNCTION tessera_password_reset_request(mail text, hash bytea, ttl_secs integer, mid uuid,
                                               payload bytea) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH target AS (
        SELECT u.id, u.email FROM public.users u
        WHERE lower(u.email) = lower(mail)
          AND (u.password_hash IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM public.sso_identities s WHERE s.user_id = u.id))),
    tok AS (
        INSERT INTO public.account_tokens (token_hash, user_id, purpose, email, expires_at)
        SELECT hash, id, 'reset_password', email, now() + make_interval(secs => ttl_secs) FROM target
        RETURNING email),
    outbox AS (
        INSERT INTO public.mail_outbox (id, tenant_id, to_address, template, sealed)
        SELECT mid, NULL, email, 'reset_password', payload FROM tok
        RETURNING id)
    INSERT INTO public.jobs (tenant_id, kind, ref_id) SELECT NULL, 'mail', id FROM outbox
$$;

-- Uses an account token: marks it used and answers its user and address, or why it cannot be
-- used ('unknown', 'used', 'expired', 'stale': the account's address changed since).
CREATE FUNCTION tessera_account_token_use(hash bytea, want text)
    RETURNS TABLE (outcome text, user_id uuid, email text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t record;
BEGIN
    SELECT a.*, u.email AS current_email INTO t
    FROM public.account_tokens a JOIN public.users u ON u.id = a.user_id
    WHERE a.token_hash = hash AND a.purpose = want
    FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::uuid, NULL::text;
    ELSIF t.used_at IS NOT NULL THEN
        RETURN QUERY SELECT 'used'::text, NULL::uuid, NULL::text;
    ELSIF t.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, NULL::uuid, NULL::text;
    ELSIF lower(t.email) <> lower(t.current_email) THEN
        RETURN QUERY SELECT 'stale'::text, NULL::uuid, NULL::text;
    ELSE
        UPDATE public.account_tokens SET used_at = now() WHERE token_hash = hash;
        RETURN QUERY SELECT 'ok'::text, t.user_id, t.email;
    END IF;
END
$$;

-- Completes a password reset: the new hash, the address verified (the reset link reached
-- it), every session revoked, the user's other reset tokens voided. False for an account
-- that may only sign in through its identity provider.
CREATE FUNCTION tessera_password_reset_finish(uid uuid, new_hash text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = uid
                   AND (u.password_hash IS NOT NULL
                        OR NOT EXISTS (SELECT 1 FROM public.sso_identities s WHERE s.user_id = u.id))) THEN
        RETURN false;
    END IF;
    UPDATE public.users SET password_hash = new_hash,
           email_verified_at = coalesce(email_verified_at, now()) WHERE id = uid;
    UPDATE public.sessions SET revoked_at = now() WHERE user_id = uid AND revoked_at IS NULL;
    UPDATE public.account_tokens SET used_at = now()
     WHERE user_id = uid AND purpose = 'reset_password' AND used_at IS NULL;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION tessera_verification_issue(uuid, bytea, integer),
    tessera_password_reset_request(text, bytea, integer, uuid, bytea),
    tessera_account_token_use(bytea, text), tessera_password_reset_finish(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_verification_issue(uuid, bytea, integer),
    tessera_password_reset_request(text, bytea, integer, uuid, bytea),
    tessera_account_token_use(bytea, text), tessera_password_reset_finish(uuid, text) TO {{app}};

-- The account security log: what happened to an account outside any workspace (sign-up,
-- verification, sign-ins, password and factor changes, resets). The user reads their own.
CREATE TABLE account_events (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    action     text NOT NULL CHECK (char_length(action) BETWEEN 1 AND 64),
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX account_events_user_idx ON account_events (user_id, at DESC);
ALTER TABLE account_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_events FORCE ROW LEVEL SECURITY;
CREATE POLICY account_events_own ON account_events FOR SELECT TO {{app}}
    USING (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid);
CREATE POLICY account_events_admin ON account_events TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON account_events FROM PUBLIC;
GRANT SELECT ON account_events TO {{app}};

CREATE FUNCTION tessera_account_event(eid uuid, uid uuid, act text, addr text, agent text,
                                      extra jsonb) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.account_events (id, user_id, action, ip, user_agent, details)
    SELECT eid, u.id, act, left(addr, 64), left(agent, 300), extra FROM public.users u WHERE u.id = uid
$$;
REVOKE ALL ON FUNCTION tessera_account_event(uuid, uuid, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_account_event(uuid, uuid, text, text, text, jsonb) TO {{app}};

-- Whoever follows a signed download link must still hold the access it was issued for: a
-- member of the workspace, through a session or API token that is still valid.
CREATE FUNCTION tessera_link_holder_valid(tid uuid, uid uuid, token uuid, sid uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.memberships m
        JOIN public.tenants t ON t.id = m.tenant_id AND t.state = 'active'
        WHERE m.tenant_id = tid AND m.user_id = uid)
      AND (token IS NULL OR EXISTS (
        SELECT 1 FROM public.api_tokens k
        WHERE k.id = token AND k.tenant_id = tid AND k.user_id = uid AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())))
      AND (sid IS NULL OR EXISTS (
        SELECT 1 FROM public.sessions s
        WHERE s.id = sid AND s.user_id = uid AND s.revoked_at IS NULL
          AND s.idle_expires_at > now() AND s.absolute_expires_at > now()))
      AND (token IS NOT NULL OR sid IS NOT NULL)
$$;
REVOKE ALL ON FUNCTION tessera_link_holder_valid(uuid, uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_link_holder_valid(uuid, uuid, uuid, uuid) TO {{app}};
