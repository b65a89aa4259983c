-- Field-level history of goals, projects, records and ideas. Every change stores the
-- changed fields (old and new) and the full state after it; restoring an earlier version
-- writes a new version, so history is never rewritten.

CREATE TABLE versions (
    id            uuid PRIMARY KEY,
    entity_type   text NOT NULL CHECK (entity_type IN ('goal', 'project', 'record', 'idea')),
    entity_id     uuid NOT NULL,
    version       integer NOT NULL CHECK (version > 0),
    changes       jsonb NOT NULL,
    snapshot      jsonb NOT NULL,
    actor_user    uuid NOT NULL,
    restored_from integer,
    at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT versions_entity_version_key UNIQUE (entity_type, entity_id, version)
);
