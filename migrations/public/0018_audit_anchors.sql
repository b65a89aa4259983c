-- Audit anchors and recorded restores.
--
-- Anchors: every chained checkpoint is also written to the object store (S3 with Object
-- Lock where configured), out of the database superuser's reach. `audit_anchored` notes
-- which checkpoints are there, so a pass that failed half-way is finished by the next one.
-- It is bookkeeping only: the verifier reads the store itself.
CREATE TABLE audit_anchored (
    tenant_id    uuid NOT NULL,
    counter      bigint NOT NULL,
    locked_until timestamptz,
    anchored_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, counter)
);
ALTER TABLE audit_anchored ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_anchored FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_anchored_tenant ON audit_anchored FOR SELECT TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_anchored_tenant_add ON audit_anchored FOR INSERT TO {{tenant_group}}
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_anchored_admin ON audit_anchored TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON audit_anchored FROM PUBLIC;
GRANT SELECT, INSERT ON audit_anchored TO {{tenant_group}};

-- A restore checkpoint: signed by the operator's `tessera audit restored` after the database
-- came back from a backup. It signs the restored head and says that checkpoints signed
-- before it, at later positions, describe entries the restore lost. Its message differs
-- from a plain checkpoint's, so neither can pass for the other.
ALTER TABLE audit_checkpoints ADD COLUMN restored boolean NOT NULL DEFAULT false;

-- After a restore, positions are used again by new entries, so a checkpoint is identified by
-- its workspace and counter; unchained checkpoints (signed before counters existed) keep
-- their old identity.
ALTER TABLE audit_checkpoints DROP CONSTRAINT audit_checkpoints_pkey;
CREATE UNIQUE INDEX audit_checkpoints_counter ON audit_checkpoints (tenant_id, counter)
    WHERE counter IS NOT NULL;
CREATE UNIQUE INDEX audit_checkpoints_unchained ON audit_checkpoints (tenant_id, seq, key_id)
    WHERE counter IS NULL;
CREATE INDEX audit_checkpoints_position ON audit_checkpoints (tenant_id, seq);
