-- Audit evidence: checkpoints chained per workspace, and retention behind a signed anchor.
--
-- Checkpoints carry a counter (1, 2, … per workspace) and the digest of the workspace's
-- previous checkpoint, both covered by the signature, so a checkpoint removed from the
-- middle, or two swapped, is a break. Rows signed before this migration keep a null
-- counter and their original message.
ALTER TABLE audit_checkpoints ADD COLUMN counter bigint;
ALTER TABLE audit_checkpoints ADD COLUMN prev_checkpoint bytea;

-- Retention: how long a workspace keeps its audit entries (days; 7 years unless its owner
-- chooses otherwise, between 30 days and 100 years, checked by the setter).
ALTER TABLE tenants ADD COLUMN audit_retention_days integer NOT NULL DEFAULT 2557;

-- Where a workspace's chain starts after retention removed older entries: the first kept
-- entry and the hash it links to. The verifier starts here, and only if a signed checkpoint
-- of the last removed entry carries that hash: a floor moved by anyone without the signing
-- key is a break.
CREATE TABLE audit_floors (
    tenant_id uuid PRIMARY KEY,
    seq       bigint NOT NULL,
    prev_hash bytea NOT NULL,
    moved_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE audit_floors ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_floors FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_floors_tenant_read ON audit_floors FOR SELECT TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_floors_admin ON audit_floors TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON audit_floors FROM PUBLIC;
GRANT SELECT ON audit_floors TO {{tenant_group}};

-- Entries stay append-only for everyone, the runtime role included. The one exception is
-- the pruning function below, run by the operator's migrator role: inside it, entries below
-- the workspace's recorded floor may be deleted, and nothing else.
CREATE OR REPLACE FUNCTION tessera_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log'
       AND current_setting('tessera.audit_prune', true) = 'on'
       AND OLD.seq < (SELECT f.seq FROM public.audit_floors f WHERE f.tenant_id = OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

GRANT DELETE ON audit_log TO {{migrator}};

-- Moves a workspace's floor forward to `first_kept` (linked to `prev`) and deletes the
-- entries below it. The caller has signed a checkpoint of entry `first_kept - 1` first.
CREATE FUNCTION tessera_audit_prune(t uuid, first_kept bigint, prev bytea) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    INSERT INTO public.audit_floors AS f (tenant_id, seq, prev_hash) VALUES (t, first_kept, prev)
    ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, prev_hash = excluded.prev_hash, moved_at = now()
        WHERE f.seq < excluded.seq;
    PERFORM set_config('tessera.audit_prune', 'on', true);
    DELETE FROM public.audit_log WHERE tenant_id = t AND seq < first_kept;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('tessera.audit_prune', 'off', true);
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION tessera_audit_prune(uuid, bigint, bytea) FROM PUBLIC;

-- Owners set the window of their own workspace (bound to the current tenant like the MFA
-- policy); answers the previous window, for the audit entry's before/after.
CREATE FUNCTION tessera_set_audit_retention(days integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t uuid := public.tessera_tenant_of(current_setting('role')::name);
    before integer;
BEGIN
    IF days IS NULL OR days < 30 OR days > 36525 THEN
        RAISE EXCEPTION 'audit retention is 30 days to 100 years' USING ERRCODE = 'check_violation';
    END IF;
    SELECT audit_retention_days INTO before FROM public.tenants WHERE id = t FOR UPDATE;
    UPDATE public.tenants SET audit_retention_days = days WHERE id = t;
    RETURN before;
END
$$;
REVOKE ALL ON FUNCTION tessera_set_audit_retention(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_set_audit_retention(integer) TO {{tenant_group}};

-- The current workspace's window and floor (first kept entry; 1 when nothing was removed).
CREATE FUNCTION tessera_audit_retention(OUT days integer, OUT first_kept bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.audit_retention_days, coalesce(f.seq, 1)
    FROM public.tenants t LEFT JOIN public.audit_floors f ON f.tenant_id = t.id
    WHERE t.id = public.tessera_tenant_of(current_setting('role')::name)
$$;
REVOKE ALL ON FUNCTION tessera_audit_retention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_audit_retention() TO {{tenant_group}};
