-- Tenant keys, the audit chain and its signed checkpoints.
--
-- The chain is append-only at the database: tenant roles may INSERT and SELECT entries
-- and nothing else, UPDATE/DELETE/TRUNCATE are revoked from everyone, and a trigger refuses
-- them even for the owner. A superuser can still bypass both; signed checkpoints (the
-- signing key derives from the master key, which the database never sees) make that
-- detectable.

CREATE TABLE tenant_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('audit')),
    -- The random data key, sealed by a key derived from the master key. NULL once destroyed.
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    PRIMARY KEY (tenant_id, purpose),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

CREATE TABLE audit_log (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor_type  text NOT NULL CHECK (actor_type IN ('token', 'user', 'system')),
    actor_id    text NOT NULL,
    actor_user  text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    request_id  text NOT NULL,
    client_ip   text NOT NULL,
    -- Sealed with the tenant's audit key; NULL when the key was already destroyed.
    payload     bytea,
    prev_hash   bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at);

-- The head of each chain: locked FOR UPDATE by every append, which serialises writers of
-- one tenant into a single gapless sequence. Created with the tenant (seq 0, zero hash).
CREATE TABLE audit_heads (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq       bigint NOT NULL CHECK (seq >= 0),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE TABLE audit_checkpoints (
    tenant_id uuid NOT NULL,
    seq       bigint NOT NULL,
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32),
    signed_at timestamptz NOT NULL DEFAULT now(),
    key_id    bigint NOT NULL,
    signature bytea NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (tenant_id, seq, key_id)
);

CREATE FUNCTION tessera_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tessera_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION tessera_audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_audit_append_only();

ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_keys_tenant ON tenant_keys FOR SELECT TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY tenant_keys_admin ON tenant_keys TO {{migrator}} USING (true) WITH CHECK (true);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant_read ON audit_log FOR SELECT TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_log_tenant_append ON audit_log FOR INSERT TO {{tenant_group}}
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_log_admin ON audit_log TO {{migrator}} USING (true) WITH CHECK (true);

ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_heads_tenant ON audit_heads TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user))
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_heads_admin ON audit_heads TO {{migrator}} USING (true) WITH CHECK (true);

ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoints_tenant_read ON audit_checkpoints FOR SELECT TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_checkpoints_tenant_append ON audit_checkpoints FOR INSERT TO {{tenant_group}}
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY audit_checkpoints_admin ON audit_checkpoints TO {{migrator}} USING (true) WITH CHECK (true);

REVOKE ALL ON tenant_keys, audit_log, audit_heads, audit_checkpoints FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoints FROM {{migrator}};
GRANT SELECT ON tenant_keys TO {{tenant_group}};
GRANT SELECT, INSERT ON audit_log, audit_checkpoints TO {{tenant_group}};
GRANT SELECT, UPDATE ON audit_heads TO {{tenant_group}};
