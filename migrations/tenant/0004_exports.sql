-- Background workspace exports. `startExport` queues one (with a job in `public.jobs`); the
-- server's worker writes the JSON export to the attachment store under `object_key`
-- (`<tenant id>/<object id>`) and records its size, SHA-256 and manifest; the signing proxy
-- (`/w/{slug}/exports/{id}/content`) serves it until `expires_at`, when a second job deletes
-- the object.

CREATE TABLE exports (
    id           uuid PRIMARY KEY,
    requested_by uuid NOT NULL,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    object_key   text,
    size_bytes   bigint CHECK (size_bytes >= 0),
    sha256       bytea CHECK (octet_length(sha256) = 32),
    manifest     jsonb,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    expires_at   timestamptz,
    CONSTRAINT exports_object_key_key UNIQUE (object_key)
);
CREATE INDEX exports_created_idx ON exports (created_at DESC, id);
