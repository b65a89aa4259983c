-- Workspace roles made ahead of time.
--
-- The runtime role is a member of every workspace role (it must be, to become one). On
-- PostgreSQL 15 a backend's list of the roles its session user belongs to is rebuilt after
-- any change to `pg_authid` or `pg_auth_members`, in time quadratic in the number of roles:
-- with 10,000 workspaces, ~320 ms for the next `SET ROLE` of every runtime backend. Making a
-- workspace's role while creating it put that cost on the creating request and on the next
-- request of every pooled connection. Roles are therefore made in batches, ahead of need, by
-- the background worker (`role_pool` job), and a new workspace takes one from the pool: no
-- role change, no rebuild. An unassigned pooled role can become no workspace (RLS and schema
-- grants follow `public.tenants.db_role`), so the pool grants nothing.

CREATE TABLE tenant_role_pool (
    role_name  text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON tenant_role_pool FROM PUBLIC;

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('export', 'export_expire', 'webhook', 'mail', 'role_pool')) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_kind_check;

-- Tops the pool up to `target` roles (at most 1,000 at once); returns how many it made. One
-- filler at a time (the others wait, then find the pool full).
CREATE FUNCTION tessera_role_pool_fill(target integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    have integer;
    made integer := 0;
    role_name text;
BEGIN
    target := least(greatest(target, 0), 1000);
    PERFORM pg_advisory_xact_lock(hashtext('tessera_role_pool_fill'));
    SELECT count(*) INTO have FROM public.tenant_role_pool;
    WHILE have + made < target LOOP
        role_name := {{tenant_role_prefix}} || replace(gen_random_uuid()::text, '-', '');
        EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT NOBYPASSRLS IN ROLE %I', role_name, {{tenant_group_name}});
        EXECUTE format('GRANT %I TO %I', role_name, {{app_name}});
        INSERT INTO public.tenant_role_pool (role_name) VALUES (role_name);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
REVOKE ALL ON FUNCTION tessera_role_pool_fill(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_role_pool_fill(integer) TO {{app}};

-- As in 0014, but the workspace's role comes from the pool when it has one (made on the spot
-- otherwise), and a `role_pool` job is queued when fewer than 64 are left.
CREATE OR REPLACE FUNCTION tessera_provision_workspace(tid uuid, ws_slug text, ws_name text,
                                                       expected_version integer, wrapped_audit_key bytea,
                                                       genesis bytea, owner_id uuid)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    role_name text;
    schema_name text := 'tenant_' || ws_slug;
    template integer;
    left_in_pool integer;
BEGIN
    SELECT version INTO template FROM public.template_state FOR SHARE;
    IF template IS DISTINCT FROM expected_version THEN
        RETURN 'template';
    END IF;
    BEGIN
        DELETE FROM public.tenant_role_pool p
         WHERE p.role_name = (SELECT q.role_name FROM public.tenant_role_pool q
                               ORDER BY q.created_at, q.role_name LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING p.role_name INTO role_name;
        INSERT INTO public.tenants (id, slug, name, db_role, schema_version)
        VALUES (tid, ws_slug, ws_name,
                coalesce(role_name, {{tenant_role_prefix}} || replace(tid::text, '-', '')),
                expected_version);
    EXCEPTION WHEN unique_violation THEN
        RETURN 'taken';
    END;
    IF role_name IS NULL THEN
        role_name := {{tenant_role_prefix}} || replace(tid::text, '-', '');
        EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT NOBYPASSRLS IN ROLE %I', role_name, {{tenant_group_name}});
        EXECUTE format('GRANT %I TO %I', role_name, {{app_name}});
    END IF;
    SELECT count(*) INTO left_in_pool FROM public.tenant_role_pool;
    IF left_in_pool < 64 AND NOT EXISTS (SELECT 1 FROM public.jobs WHERE kind = 'role_pool') THEN
        INSERT INTO public.jobs (tenant_id, kind, ref_id) VALUES (NULL, 'role_pool', tid);
    END IF;
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
