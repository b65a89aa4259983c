import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Pager, usePager } from "../../components/Pager";
import { CreateProject, CreateTeam, ProjectsQuery } from "./queries.tenant";
import { Teams, VISIBILITY, visibilityOf } from "./Teams";

/** The workspace's projects (paged), and forms to add a team or a project. */
export function Projects() {
  const { slug = "" } = useParams();
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: ProjectsQuery, variables: { after: pager.after } });
  const teams = data?.teams.nodes ?? [];
  return (
    <Page title="Projects">
      {fetching && !data ? <Loading what="projects" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && data.projects.nodes.length === 0 ? <Empty>No projects yet.</Empty> : null}
      {data && data.projects.nodes.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Team</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data.projects.nodes.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={`/w/${slug}/projects/${p.id}`}>{p.name}</Link>
                </td>
                <td>{p.team.name}</td>
                <td>
                  <time dateTime={p.updatedAt}>{new Date(p.updatedAt).toLocaleString()}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {data ? <Pager pager={pager} hasNext={data.projects.pageInfo.hasNextPage} endCursor={data.projects.pageInfo.endCursor} /> : null}
      <div className="columns">
        {teams.length > 0 ? <NewProject teams={teams} /> : null}
        <NewTeam first={data !== undefined && teams.length === 0} />
      </div>
      {teams.length > 0 ? <Teams /> : null}
    </Page>
  );
}

function NewProject({ teams }: { teams: { id: string; name: string }[] }) {
  const [result, create] = useMutation(CreateProject);
  const [created, setCreated] = useState("");
  const onSubmit = submitHandler(async (form, f) => {
    const r = await create(
      { input: { teamId: text(f, "teamId"), name: text(f, "name").trim(), description: text(f, "description") } },
      { additionalTypenames: ["Project", "ProjectConnection"] },
    );
    if (r.data) {
      setCreated(r.data.createProject.name);
      form.reset();
    }
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-project">
      <h2 id="new-project">New project</h2>
      <div className="field">
        <label htmlFor="project-team">Team</label>
        <select id="project-team" name="teamId" required>
          {teams.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      </div>
      <Field label="Name" name="name" required maxLength={200} />
      <Field label="Description" name="description" maxLength={2000} />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      {created ? <p role="status" className="muted">Created {created}.</p> : null}
      <button type="submit" disabled={result.fetching}>
        Create project
      </button>
    </form>
  );
}

function NewTeam({ first }: { first: boolean }) {
  const [result, create] = useMutation(CreateTeam);
  const onSubmit = submitHandler(async (form, f) => {
    const visibility = visibilityOf(text(f, "visibility"));
    const r = await create(
      { input: { name: text(f, "name").trim(), visibility } },
      { additionalTypenames: ["Team", "TeamConnection"] },
    );
    if (r.data) form.reset();
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-team">
      <h2 id="new-team">New team</h2>
      {first ? <p className="muted">Projects belong to a team: start with one.</p> : null}
      <Field label="Team name" name="name" required maxLength={200} />
      <div className="field">
        <label htmlFor="team-visibility">Who can see its work</label>
        <select id="team-visibility" name="visibility" defaultValue="OPEN">
          <option value="OPEN">{VISIBILITY.OPEN}</option>
          <option value="LIMITED">{VISIBILITY.LIMITED}</option>
          <option value="RESTRICTED">{VISIBILITY.RESTRICTED}</option>
        </select>
      </div>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" disabled={result.fetching}>
        Create team
      </button>
    </form>
  );
}
