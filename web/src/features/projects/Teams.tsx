import { useId, useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import type { TeamsQuery as TeamsResult, Visibility } from "../../gql/tenant/graphql";
import { AddTeamMember, ArchiveTeam, RemoveTeamMember, TeamsQuery, UpdateTeam } from "./queries.tenant";

const TEAM_TYPES = { additionalTypenames: ["Team", "TeamConnection"] };

export const VISIBILITY: Record<Visibility, string> = {
  OPEN: "Every member reads and edits",
  LIMITED: "Every member reads; team members edit",
  RESTRICTED: "Only team members read and edit",
};

export function visibilityOf(v: string): Visibility {
  return v === "LIMITED" || v === "RESTRICTED" ? v : "OPEN";
}

type TeamRow = TeamsResult["teams"]["nodes"][number];
type Person = TeamsResult["members"]["nodes"][number];

/** The workspace's teams: renamed, their visibility changed, members added or removed, archived. */
export function Teams() {
  const [{ data, fetching, error }] = useQuery({ query: TeamsQuery });
  const teams = data?.teams.nodes.filter((t) => !t.archivedAt) ?? [];
  return (
    <section className="card wide" aria-labelledby="teams">
      <h2 id="teams">Teams</h2>
      {fetching && !data ? <Loading what="teams" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && teams.length === 0 ? <Empty>No teams yet.</Empty> : null}
      <ul className="records">
        {teams.map((t) => (
          <TeamItem key={t.id} team={t} people={data?.members.nodes ?? []} />
        ))}
      </ul>
    </section>
  );
}

function TeamItem({ team, people }: { team: TeamRow; people: Person[] }) {
  const [editing, setEditing] = useState(false);
  const [updated, update] = useMutation(UpdateTeam);
  const [archived, archive] = useMutation(ArchiveTeam);
  const [added, add] = useMutation(AddTeamMember);
  const [removed, remove] = useMutation(RemoveTeamMember);
  const selectId = useId();
  const onSave = submitHandler(async (_form, f) => {
    const r = await update({ id: team.id, input: { name: text(f, "name").trim(), visibility: visibilityOf(text(f, "visibility")) } }, TEAM_TYPES);
    if (r.data) setEditing(false);
  });
  const inTeam = new Set(team.members.map((m) => m.id));
  const others = people.filter((p) => !inTeam.has(p.id));
  const failure = updated.error ?? archived.error ?? added.error ?? removed.error;
  return (
    <li className="record">
      {editing ? (
        <form onSubmit={onSave} aria-label={`Edit team ${team.name}`}>
          <Field label="Team name" name="name" defaultValue={team.name} required maxLength={200} autoFocus />
          <div className="field">
            <label htmlFor={`${selectId}-vis`}>Who can see its work</label>
            <select id={`${selectId}-vis`} name="visibility" defaultValue={team.visibility}>
              {(Object.keys(VISIBILITY) as Visibility[]).map((v) => (
                <option key={v} value={v}>
                  {VISIBILITY[v]}
                </option>
              ))}
            </select>
          </div>
          <div className="actions">
            <button type="submit" disabled={updated.fetching}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <div className="record-head">
            <strong>{team.name}</strong>
            <span className="badge">{VISIBILITY[team.visibility]}</span>
          </div>
          <p className="muted">
            {team.members.length === 0 ? "No team members." : `Team members: ${team.members.map((m) => m.displayName || m.email).join(", ")}`}
          </p>
          <div className="actions">
            <button type="button" className="link" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button
              type="button"
              className="link danger"
              disabled={archived.fetching}
              onClick={() => {
                if (window.confirm(`Archive the team “${team.name}”?`)) void archive({ id: team.id }, TEAM_TYPES);
              }}
            >
              Archive
            </button>
          </div>
          <div className="inline-form">
            {others.length > 0 ? (
              <>
                <label htmlFor={`${selectId}-add`}>Add to team</label>
                <select
                  id={`${selectId}-add`}
                  value=""
                  onChange={(e) => {
                    if (e.target.value) void add({ teamId: team.id, userId: e.target.value }, TEAM_TYPES);
                  }}
                >
                  <option value="">Choose a member…</option>
                  {others.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.displayName || p.email}
                    </option>
                  ))}
                </select>
              </>
            ) : null}
            {team.members.map((m) => (
              <button key={m.id} type="button" className="link" onClick={() => void remove({ teamId: team.id, userId: m.id }, TEAM_TYPES)}>
                Remove {m.displayName || m.email}
              </button>
            ))}
          </div>
        </>
      )}
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
    </li>
  );
}
