-- Workspace deletion: a deleted workspace is inaccessible at once (every request resolves
-- only `active` workspaces) and restorable by an owner until `purge_after`; then
-- `tessera tenant purge` drops its schema and role, erases its secrets, destroys its keys and
-- deletes its stored objects, and marks it `purged`. The registry row and the audit chain stay,
-- so the chain remains verifiable (its payloads unreadable).

ALTER TABLE tenants DROP CONSTRAINT tenants_state_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_state_check CHECK (state IN ('active', 'deleted', 'purged'));
ALTER TABLE tenants ADD COLUMN deleted_at timestamptz;
ALTER TABLE tenants ADD COLUMN purge_after timestamptz;
ALTER TABLE tenants ADD COLUMN purged_at timestamptz;

-- Deletes the workspace of the current tenant transaction (found as in 0005). Runs last in the
-- request that asked for it, after its audit entry was appended.
CREATE FUNCTION tessera_delete_workspace(keep_days integer) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE public.tenants
           SET state = 'deleted', deleted_at = now(), purge_after = now() + make_interval(days => keep_days)
         WHERE id = public.tessera_tenant_of(current_setting('role')::name)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;
REVOKE ALL ON FUNCTION tessera_delete_workspace(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_delete_workspace(integer) TO {{tenant_group}};

-- Restores a deleted workspace for one of its owners, before it is purged. Returns its id.
CREATE FUNCTION tessera_restore_workspace(ws text, uid uuid) RETURNS uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.tenants t
       SET state = 'active', deleted_at = NULL, purge_after = NULL
     WHERE t.slug = ws AND t.state = 'deleted' AND t.purge_after > now()
       AND EXISTS (SELECT 1 FROM public.memberships m
                    WHERE m.tenant_id = t.id AND m.user_id = uid AND m.role = 'owner')
    RETURNING t.id
$$;
REVOKE ALL ON FUNCTION tessera_restore_workspace(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_restore_workspace(text, uuid) TO {{app}};

-- The caller's deleted workspaces that an owner can still restore.
CREATE FUNCTION tessera_deleted_workspaces_of(uid uuid)
    RETURNS TABLE (slug text, name text, deleted_at timestamptz, purge_after timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.slug, t.name, t.deleted_at, t.purge_after FROM public.tenants t
    JOIN public.memberships m ON m.tenant_id = t.id AND m.user_id = uid AND m.role = 'owner'
    WHERE t.state = 'deleted' AND t.purge_after > now()
    ORDER BY t.slug
$$;
REVOKE ALL ON FUNCTION tessera_deleted_workspaces_of(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_deleted_workspaces_of(uuid) TO {{app}};
