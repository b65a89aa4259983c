-- Tenant secrets (OIDC client secrets, webhook secrets, integration credentials), sealed by
-- the application with a per-tenant key derived from the master key. The database only ever
-- holds ciphertext, bound (as AEAD associated data) to tenant, kind and row id.

CREATE TABLE tenant_secrets (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('oidc_client_secret', 'webhook_secret', 'integration_credential')),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tenant_secrets_name_key UNIQUE (tenant_id, kind, name)
);

ALTER TABLE tenant_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_secrets_tenant ON tenant_secrets TO {{tenant_group}}
    USING (tenant_id = tessera_tenant_of(current_user))
    WITH CHECK (tenant_id = tessera_tenant_of(current_user));
CREATE POLICY tenant_secrets_admin ON tenant_secrets TO {{migrator}} USING (true) WITH CHECK (true);
REVOKE ALL ON tenant_secrets FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_secrets TO {{tenant_group}};
