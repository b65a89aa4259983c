-- SCIM 2.0 groups (docs/scim.md): every live team is a Group, its id the team's id.
-- `scim_groups` holds what only the identity provider writes — its externalId — and when it
-- last changed the group, for meta.lastModified. `scim_group_members` is the provider's
-- word on who is in the group; an active User in it is a team member, an inactive one is
-- not (and is again when reactivated). Members added in Tessera are not the provider's.
CREATE TABLE scim_groups (
    team_id     uuid PRIMARY KEY REFERENCES teams (id),
    external_id text CHECK (char_length(external_id) <= 256),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scim_groups_external_id_idx ON scim_groups (external_id);

CREATE TABLE scim_group_members (
    team_id      uuid NOT NULL REFERENCES teams (id),
    scim_user_id uuid NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, scim_user_id)
);
CREATE INDEX scim_group_members_user_idx ON scim_group_members (scim_user_id);
