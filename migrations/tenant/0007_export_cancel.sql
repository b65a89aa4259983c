-- A background export asked for by a member who is removed before it runs is cancelled.
ALTER TABLE exports DROP CONSTRAINT exports_status_check;
ALTER TABLE exports ADD CONSTRAINT exports_status_check
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired', 'cancelled')) NOT VALID;
ALTER TABLE exports VALIDATE CONSTRAINT exports_status_check;
