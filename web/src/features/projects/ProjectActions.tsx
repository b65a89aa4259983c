import { useState } from "react";
import { useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { ErrorNotice } from "../../components/Notice";
import { History } from "./History";
import { ArchiveProject, ProjectSettingsQuery, UpdateProject } from "./queries.tenant";

const PROJECT_TYPES = { additionalTypenames: ["Project", "ProjectConnection"] };

/** A project's own actions: edit its name, description and goal; its history; archive. */
export function ProjectActions({ id }: { id: string }) {
  const { slug = "" } = useParams();
  const navigate = useNavigate();
  const [{ data }] = useQuery({ query: ProjectSettingsQuery, variables: { id } });
  const [editing, setEditing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [updated, update] = useMutation(UpdateProject);
  const [archived, archive] = useMutation(ArchiveProject);
  const project = data?.project;
  if (!project) return null;
  const onSave = submitHandler(async (_form, f) => {
    const goalId = text(f, "goalId");
    const r = await update(
      { id, input: { name: text(f, "name").trim(), description: text(f, "description"), ...(goalId ? { goalId } : {}) } },
      PROJECT_TYPES,
    );
    if (r.data) setEditing(false);
  });
  return (
    <div className="project-actions">
      {editing ? (
        <form className="card" onSubmit={onSave} aria-label="Edit project">
          <Field label="Name" name="name" defaultValue={project.name} required maxLength={200} autoFocus />
          <Field label="Description" name="description" defaultValue={project.description} maxLength={2000} />
          <div className="field">
            <label htmlFor="project-goal">Goal it serves</label>
            <select id="project-goal" name="goalId" defaultValue={project.goal?.id ?? ""}>
              <option value="">None</option>
              {data.goals.nodes.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.title}
                </option>
              ))}
            </select>
          </div>
          <ErrorNotice>{updated.error ? describeGraphql(updated.error) : ""}</ErrorNotice>
          <div className="actions">
            <button type="submit" disabled={updated.fetching}>
              Save project
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="actions">
          {project.goal ? <span className="muted">Serves {project.goal.title} · </span> : null}
          <button type="button" className="link" onClick={() => setEditing(true)}>
            Edit project
          </button>
          <button type="button" className="link" aria-expanded={showHistory} onClick={() => setShowHistory((v) => !v)}>
            Project history
          </button>
          {project.archivedAt ? (
            <span className="badge">Archived</span>
          ) : (
            <button
              type="button"
              className="link danger"
              disabled={archived.fetching}
              onClick={() => {
                if (window.confirm(`Archive the project “${project.name}”?`))
                  void archive({ id }, PROJECT_TYPES).then((r) => {
                    if (r.data) void navigate(`/w/${slug}`);
                  });
              }}
            >
              Archive project
            </button>
          )}
        </div>
      )}
      <ErrorNotice>{archived.error ? describeGraphql(archived.error) : ""}</ErrorNotice>
      {showHistory ? <History type="PROJECT" id={id} /> : null}
    </div>
  );
}
