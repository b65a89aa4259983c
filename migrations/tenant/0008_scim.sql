-- SCIM 2.0 users (docs/scim.md): the identity provider's view of the workspace's members.
-- A row links the provider's resource (its id, userName, externalId and the attributes it
-- last wrote) to a Tessera account; `active` mirrors membership: an inactive user is not a
-- member. The account itself (public.users) is shared by every workspace the person is in.
CREATE TABLE scim_users (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    user_name   text NOT NULL CHECK (char_length(user_name) BETWEEN 1 AND 256),
    external_id text CHECK (char_length(external_id) <= 256),
    active      boolean NOT NULL DEFAULT true,
    attributes  jsonb NOT NULL DEFAULT '{}',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scim_users_user_key UNIQUE (user_id)
);
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (lower(user_name));
CREATE INDEX scim_users_external_id_idx ON scim_users (external_id);
