-- Idempotency keys: the first successful result of a keyed mutation request, per actor
-- (`token:<id>` or `user:<id>`), for 24 hours. The row is written in the same transaction as
-- the mutation's effects and its audit entry, so after a crash either all of them exist (a
-- retry replays the stored response) or none does (a retry executes the mutation).

CREATE TABLE idempotency_keys (
    actor        text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    response     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (actor, created_at);
