import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Pager, usePager } from "../../components/Pager";
import type { RecordStatus } from "../../gql/tenant/graphql";
import { Attachments } from "./Attachments";
import { ProjectActions } from "./ProjectActions";
import { History } from "./History";
import { ArchiveRecord, CreateRecord, ProjectQuery, UpdateRecord } from "./queries.tenant";

const STATUS: Record<RecordStatus, string> = { OPEN: "Open", IN_PROGRESS: "In progress", DONE: "Done" };
const RECORD_TYPES = { additionalTypenames: ["Record", "RecordConnection"] };

function statusOf(v: string): RecordStatus {
  return v === "IN_PROGRESS" || v === "DONE" ? v : "OPEN";
}

/** A project's records: paged, created, edited, archived, with each one's history. */
export function Project() {
  const { id = "" } = useParams();
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: ProjectQuery, variables: { id, after: pager.after } });
  const project = data?.project;
  return (
    <Page title={project?.name ?? "Project"}>
      {fetching && !data ? <Loading what="the project" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {project ? (
        <>
          <p className="muted">
            {project.team.name}
            {project.description ? ` · ${project.description}` : ""}
          </p>
          <ProjectActions id={project.id} />
          <details className="project-files">
            <summary>Project files</summary>
            <Attachments type="PROJECT" id={project.id} />
          </details>
          <h2>Records</h2>
          {project.records.nodes.length === 0 ? <Empty>No records yet. Add the first below.</Empty> : null}
          <ul className="records">
            {project.records.nodes.map((r) => (
              <RecordItem key={r.id} record={r} />
            ))}
          </ul>
          <Pager pager={pager} hasNext={project.records.pageInfo.hasNextPage} endCursor={project.records.pageInfo.endCursor} />
          <NewRecord projectId={project.id} />
        </>
      ) : null}
    </Page>
  );
}

interface RecordRow {
  id: string;
  title: string;
  body: string;
  status: RecordStatus;
  updatedAt: string;
}

function RecordItem({ record }: { record: RecordRow }) {
  const [editing, setEditing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [showFiles, setShowFiles] = useState(false);
  const [update, save] = useMutation(UpdateRecord);
  const [archive, doArchive] = useMutation(ArchiveRecord);

  const onSave = submitHandler(async (_form, f) => {
    const r = await save({
      id: record.id,
      input: { title: text(f, "title").trim(), body: text(f, "body"), status: statusOf(text(f, "status")) },
    });
    if (r.data) setEditing(false);
  });

  return (
    <li className="record" data-record-id={record.id}>
      {editing ? (
        <form onSubmit={onSave} aria-label={`Edit ${record.title}`}>
          <Field label="Title" name="title" defaultValue={record.title} required maxLength={500} autoFocus />
          <div className="field">
            <label htmlFor={`body-${record.id}`}>Details</label>
            <textarea id={`body-${record.id}`} name="body" defaultValue={record.body} rows={3} />
          </div>
          <StatusSelect id={`status-${record.id}`} value={record.status} />
          <ErrorNotice>{update.error ? describeGraphql(update.error) : ""}</ErrorNotice>
          <div className="actions">
            <button type="submit" disabled={update.fetching}>
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
            <strong className="record-title">{record.title}</strong>
            <span className={`badge status-${record.status.toLowerCase()}`}>{STATUS[record.status]}</span>
          </div>
          {record.body ? <p className="record-body">{record.body}</p> : null}
          <div className="actions">
            <button type="button" className="link" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" className="link" onClick={() => setShowHistory((v) => !v)} aria-expanded={showHistory}>
              History
            </button>
            <button type="button" className="link" onClick={() => setShowFiles((v) => !v)} aria-expanded={showFiles}>
              Files
            </button>
            <button
              type="button"
              className="link danger"
              disabled={archive.fetching}
              onClick={() => {
                if (window.confirm(`Archive “${record.title}”?`)) void doArchive({ id: record.id }, RECORD_TYPES);
              }}
            >
              Archive
            </button>
          </div>
          <ErrorNotice>{archive.error ? describeGraphql(archive.error) : ""}</ErrorNotice>
          {showHistory ? <History type="RECORD" id={record.id} /> : null}
          {showFiles ? <Attachments type="RECORD" id={record.id} /> : null}
        </>
      )}
    </li>
  );
}

function StatusSelect({ id, value }: { id: string; value: RecordStatus }) {
  return (
    <div className="field">
      <label htmlFor={id}>Status</label>
      <select id={id} name="status" defaultValue={value}>
        {(Object.keys(STATUS) as RecordStatus[]).map((s) => (
          <option key={s} value={s}>
            {STATUS[s]}
          </option>
        ))}
      </select>
    </div>
  );
}

function NewRecord({ projectId }: { projectId: string }) {
  const [result, create] = useMutation(CreateRecord);
  const onSubmit = submitHandler(async (form, f) => {
    const r = await create(
      { input: { projectId, title: text(f, "title").trim(), body: text(f, "body"), status: statusOf(text(f, "status")) } },
      RECORD_TYPES,
    );
    if (r.data) form.reset();
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-record">
      <h2 id="new-record">New record</h2>
      <Field label="Title" name="title" required maxLength={500} />
      <div className="field">
        <label htmlFor="new-record-body">Details</label>
        <textarea id="new-record-body" name="body" rows={3} />
      </div>
      <StatusSelect id="new-record-status" value="OPEN" />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" disabled={result.fetching}>
        Add record
      </button>
    </form>
  );
}
