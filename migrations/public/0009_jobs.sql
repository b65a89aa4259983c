-- Background jobs. A tenant transaction enqueues a job in the same transaction as the row it
-- refers to (today: a workspace export, and later that export's expiry). The server's worker
-- claims a due job with a lease: `FOR UPDATE SKIP LOCKED` gives each job to one worker of one
-- replica, and a job whose worker died is claimed again once its lease has passed. Jobs hold
-- ids only; what they act on lives in the tenant schema.

CREATE TABLE jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    kind         text NOT NULL CHECK (kind IN ('export', 'export_expire')),
    ref_id       uuid NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs (run_after);
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id);

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
-- A workspace can only enqueue for itself, and cannot read or change the queue.
CREATE POLICY jobs_tenant ON jobs FOR INSERT TO {{tenant_group}}
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY jobs_admin ON jobs TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON jobs FROM PUBLIC;
GRANT INSERT ON jobs TO {{tenant_group}};

-- Claims the oldest due job for `lease_secs`. `slug` is null when the workspace is not active
-- (deleted and not yet purged): the worker then puts the job off.
CREATE FUNCTION tessera_job_claim(lease_secs integer)
    RETURNS TABLE (id uuid, tenant_id uuid, slug text, kind text, ref_id uuid, attempts integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH next AS (
        SELECT j.id FROM public.jobs j
         WHERE j.run_after <= now() AND (j.locked_until IS NULL OR j.locked_until <= now())
         ORDER BY j.run_after
         LIMIT 1
           FOR UPDATE SKIP LOCKED)
    UPDATE public.jobs j
       SET locked_until = now() + make_interval(secs => lease_secs), attempts = j.attempts + 1
      FROM next
     WHERE j.id = next.id
    RETURNING j.id, j.tenant_id,
              (SELECT t.slug FROM public.tenants t WHERE t.id = j.tenant_id AND t.state = 'active'),
              j.kind, j.ref_id, j.attempts
$$;

-- A job finished (or has nothing left to do).
CREATE FUNCTION tessera_job_done(job uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM public.jobs WHERE id = job
$$;

-- Puts a job off by `delay_secs`, releasing its lease.
CREATE FUNCTION tessera_job_defer(job uuid, delay_secs integer) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.jobs SET run_after = now() + make_interval(secs => delay_secs), locked_until = NULL
     WHERE id = job
$$;

REVOKE ALL ON FUNCTION tessera_job_claim(integer), tessera_job_done(uuid),
    tessera_job_defer(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_job_claim(integer), tessera_job_done(uuid),
    tessera_job_defer(uuid, integer) TO {{app}};
