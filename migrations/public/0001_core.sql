-- Shared metadata in `public`. Placeholders {{migrator}}, {{app}} and {{tenant_group}} are
-- the configured role names (validated identifiers), substituted by the migration runner.
--
-- Isolation model: the runtime login role {{app}} owns nothing and is NOBYPASSRLS. Inside a
-- tenant request it becomes the tenant's own role (a member of {{tenant_group}}), and every
-- tenant-scoped row in this schema is filtered by Row-Level Security keyed on the
-- transaction-local setting `tessera.tenant_id` AND on the current role, so a request can
-- never read or write another workspace's rows, even with a forged setting.

CREATE TABLE tenants (
    id              uuid PRIMARY KEY,
    slug            text NOT NULL CHECK (slug ~ '^[a-z][a-z0-9_]{2,39}$'),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    db_role         text NOT NULL,
    state           text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleted')),
    schema_version  integer NOT NULL,
    migration_error text,
    migration_failed_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_db_role_key UNIQUE (db_role)
);

-- The pre-migrated template every new tenant schema is cloned from.
CREATE TABLE template_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   integer NOT NULL
);

CREATE TABLE schema_migrations (
    scope      text NOT NULL CHECK (scope IN ('public', 'tenant')),
    version    integer NOT NULL,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, version)
);

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    email        text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'settings']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id);

-- The tenant of the current transaction, or NULL. Both the transaction-local setting and the
-- current role must agree with the registry: a forged `tessera.tenant_id` alone opens nothing.
-- SECURITY DEFINER so tenant roles need no access to the registry itself.
CREATE FUNCTION tessera_tenant_of(role_name name) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id
    FROM public.tenants t
    WHERE t.id = nullif(current_setting('tessera.tenant_id', true), '')::uuid
      AND t.db_role = role_name
      AND t.state = 'active'
$$;
REVOKE ALL ON FUNCTION tessera_tenant_of(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_tenant_of(name) TO {{tenant_group}};

-- Token lookup for the global (non-tenant) endpoint. Returns only what authentication needs.
CREATE FUNCTION tessera_token_principal(hash bytea)
    RETURNS TABLE (token_id uuid, tenant_id uuid, user_id uuid, scopes text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.id, k.tenant_id, k.user_id, k.scopes
    FROM public.api_tokens k
    JOIN public.tenants t ON t.id = k.tenant_id AND t.state = 'active'
    JOIN public.memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
    WHERE k.token_hash = hash
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
$$;
REVOKE ALL ON FUNCTION tessera_token_principal(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_token_principal(bytea) TO {{app}};

-- Row-Level Security. FORCE makes the policies bind the owner too; the migrator's
-- administrative path (provisioning, CLI) has its own explicit policy.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user))
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY memberships_own ON memberships FOR SELECT TO {{app}}
    USING (user_id = nullif(current_setting('tessera.user_id', true), '')::uuid);
CREATE POLICY memberships_admin ON memberships TO {{migrator}} USING (true) WITH CHECK (true);

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_tenant ON api_tokens TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user))
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY api_tokens_admin ON api_tokens TO {{migrator}} USING (true) WITH CHECK (true);

-- Users are global, but inside a tenant only the workspace's members are visible.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON users FOR SELECT TO {{tenant_group}}
    USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
CREATE POLICY users_global ON users FOR SELECT TO {{app}}
    USING (id = nullif(current_setting('tessera.user_id', true), '')::uuid);
CREATE POLICY users_admin ON users TO {{migrator}} USING (true) WITH CHECK (true);

-- Grants. Nothing is granted to PUBLIC.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {{app}}, {{tenant_group}};
GRANT SELECT ON tenants TO {{app}};
GRANT SELECT ON users TO {{app}}, {{tenant_group}};
GRANT SELECT ON memberships TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO {{tenant_group}};
GRANT SELECT, INSERT ON api_tokens TO {{tenant_group}};
GRANT UPDATE (last_used_at, revoked_at) ON api_tokens TO {{tenant_group}};

-- Clone a pre-migrated template schema into a new, empty tenant schema. Copies tables
-- (columns, defaults, NOT NULL and CHECK constraints, identity, comments), then primary
-- key, unique and exclusion constraints, indexes and foreign keys under their template
-- names (a later migration that names an index must find it in every tenant). Any other
-- kind of object in the template (views, functions, triggers, policies, standalone
-- sequences) makes it fail loudly, so a migration that adds one must extend this
-- function in the same change.
CREATE FUNCTION tessera_clone_schema(src text, dst text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    ddl text[] := '{}';
    stmt text;
    unsupported integer;
BEGIN
    SELECT count(*) INTO unsupported
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = src
      AND (c.relkind IN ('v', 'm', 'f', 'p', 'c')
           OR (c.relkind = 'S' AND NOT EXISTS (
                SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('i', 'a')))
           OR c.relrowsecurity);
    unsupported := unsupported
        + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = src)
        + (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = src AND NOT t.tgisinternal);
    IF unsupported > 0 THEN
        RAISE EXCEPTION 'template schema % holds objects tessera_clone_schema cannot copy', src;
    END IF;

    FOR r IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = src AND c.relkind = 'r' ORDER BY c.relname
    LOOP
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING ALL EXCLUDING INDEXES)',
                       dst, r.relname, src, r.relname);
    END LOOP;

    -- Definitions print table names unqualified when they are visible in the search path:
    -- read them with `src` visible, replay them with `dst` visible. Order: key constraints
    -- (and their indexes), other indexes, then foreign keys that need those keys.
    PERFORM set_config('search_path', format('%I, pg_catalog', src), true);
    FOR r IN
        SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) AS def, con.contype
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = src AND con.contype IN ('p', 'u', 'x')
        ORDER BY c.relname, con.conname
    LOOP
        ddl := ddl || format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', dst, r.relname, r.conname, r.def);
    END LOOP;
    -- pg_get_indexdef always qualifies the table: re-point it at `dst`.
    FOR r IN
        SELECT replace(pg_get_indexdef(i.indexrelid),
                       ' ON ' || quote_ident(src) || '.', ' ON ' || quote_ident(dst) || '.') AS def
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = src
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
        ORDER BY i.indexrelid::regclass::text
    LOOP
        ddl := ddl || r.def;
    END LOOP;
    FOR r IN
        SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) AS def
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = src AND con.contype = 'f' ORDER BY c.relname, con.conname
    LOOP
        ddl := ddl || format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', dst, r.relname, r.conname, r.def);
    END LOOP;
    PERFORM set_config('search_path', format('%I, pg_catalog', dst), true);
    FOREACH stmt IN ARRAY ddl LOOP
        EXECUTE stmt;
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
END
$$;
REVOKE ALL ON FUNCTION tessera_clone_schema(text, text) FROM PUBLIC;
