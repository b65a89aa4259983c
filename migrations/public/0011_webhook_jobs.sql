-- Webhook deliveries are background jobs too (`webhook`: send one outbox message).

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('export', 'export_expire', 'webhook')) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_kind_check;
