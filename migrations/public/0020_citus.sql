-- Citus mode: when the database has the `citus` extension, each workspace's schema is
-- distributed (placed whole on one worker) as it is created, and workspace roles can log in,
-- without a password.
--
-- Citus runs a tenant's statements on the worker that holds its schema, connecting as the
-- current user, so the workspace role must be able to log in there. Roles are made LOGIN with
-- no password: on the coordinator (and any node) a password or certificate rule cannot let
-- them in; only the workers' `pg_hba.conf` lets them in, and only from the coordinator's
-- address (docs/scale-out.md). Without Citus, roles stay NOLOGIN.
--
-- Cloning runs in PL/pgSQL, whose CREATE TABLEs Citus does not distribute: the schema is
-- created and cloned as a local schema, then `citus_schema_distribute` moves it, in the same
-- transaction (called through EXECUTE, so nothing here needs Citus to be installed).

CREATE FUNCTION tessera_citus() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') $$;

-- The attributes a new workspace role is created with.
CREATE FUNCTION tessera_tenant_role_login() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN public.tessera_citus() THEN 'LOGIN' ELSE 'NOLOGIN' END $$;

CREATE OR REPLACE FUNCTION tessera_role_pool_fill(target integer) RETURNS integer
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
        EXECUTE format('CREATE ROLE %I %s INHERIT NOBYPASSRLS IN ROLE %I',
                       role_name, public.tessera_tenant_role_login(), {{tenant_group_name}});
        EXECUTE format('GRANT %I TO %I', role_name, {{app_name}});
        INSERT INTO public.tenant_role_pool (role_name) VALUES (role_name);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

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
        EXECUTE format('CREATE ROLE %I %s INHERIT NOBYPASSRLS IN ROLE %I',
                       role_name, public.tessera_tenant_role_login(), {{tenant_group_name}});
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
    IF public.tessera_citus() THEN
        EXECUTE format('SELECT citus_schema_distribute(%L)', schema_name);
    END IF;
    INSERT INTO public.tenant_keys (tenant_id, purpose, wrapped) VALUES (tid, 'audit', wrapped_audit_key);
    INSERT INTO public.audit_heads (tenant_id, seq, hash) VALUES (tid, 0, genesis);
    IF owner_id IS NOT NULL THEN
        INSERT INTO public.memberships (tenant_id, user_id, role) VALUES (tid, owner_id, 'owner');
    END IF;
    RETURN 'created';
END
$$;

-- Roles made before Citus was installed can log in now (changes propagate to the workers).
DO $$
DECLARE r text;
BEGIN
    IF public.tessera_citus() THEN
        FOR r IN SELECT db_role FROM public.tenants UNION SELECT role_name FROM public.tenant_role_pool LOOP
            EXECUTE format('ALTER ROLE %I LOGIN', r);
        END LOOP;
    END IF;
END
$$;
