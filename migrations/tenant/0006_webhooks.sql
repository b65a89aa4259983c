-- Outbound webhooks. An endpoint subscribes to event types (mutation names, or '*'); its
-- signing secret lives in the tenant secrets store (sealed), under `webhook:<id>` and, while a
-- rotation overlaps, `webhook:<id>:previous` until `previous_secret_until`.
-- A mutation writes one message per subscribed endpoint in its own transaction (the outbox),
-- with a job in `public.jobs`; the worker that claims the job sends it and records the attempt.

CREATE TABLE webhook_endpoints (
    id                    uuid PRIMARY KEY,
    url                   text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events                text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 100),
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    previous_secret_until timestamptz,
    created_by            uuid NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_messages (
    id            uuid PRIMARY KEY,
    endpoint_id   uuid NOT NULL,
    event_type    text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    CONSTRAINT webhook_messages_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);
CREATE INDEX webhook_messages_endpoint_idx ON webhook_messages (endpoint_id, created_at DESC);

CREATE TABLE webhook_attempts (
    message_id   uuid NOT NULL,
    attempt      integer NOT NULL CHECK (attempt > 0),
    at           timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    error        text,
    duration_ms  integer NOT NULL,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (message_id, attempt),
    CONSTRAINT webhook_attempts_message_fkey FOREIGN KEY (message_id)
        REFERENCES webhook_messages (id) ON DELETE CASCADE
);
