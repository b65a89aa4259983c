import { useState, type ReactNode } from "react";
import type { CombinedError } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { ErrorNotice } from "../../components/Notice";
import type { EntityType } from "../../gql/tenant/graphql";
import { History } from "../projects/History";

interface Props {
  id: string;
  type: EntityType;
  title: string;
  /** The item's longer text (a goal's description, an idea's notes). */
  detail: string;
  detailLabel: string;
  archived: boolean;
  /** Saves the edit; answers whether it worked. */
  onSave: (title: string, detail: string) => Promise<boolean>;
  saving: { fetching: boolean; error?: CombinedError };
  onArchive: () => void;
  archiving: { fetching: boolean; error?: CombinedError };
  /** Shown under the title (links, badges). */
  children?: ReactNode;
  /** More actions beside Edit, History and Archive. */
  actions?: ReactNode;
}

/** One goal or idea: shown, edited in place, archived, with its field history. */
export function WorkItem(p: Props) {
  const [editing, setEditing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const onSave = submitHandler(async (_form, f) => {
    if (await p.onSave(text(f, "title").trim(), text(f, "detail"))) setEditing(false);
  });
  if (editing) {
    return (
      <li className="record">
        <form onSubmit={onSave} aria-label={`Edit ${p.title}`}>
          <Field label="Title" name="title" defaultValue={p.title} required maxLength={500} autoFocus />
          <div className="field">
            <label htmlFor={`detail-${p.id}`}>{p.detailLabel}</label>
            <textarea id={`detail-${p.id}`} name="detail" defaultValue={p.detail} rows={3} />
          </div>
          <ErrorNotice>{p.saving.error ? describeGraphql(p.saving.error) : ""}</ErrorNotice>
          <div className="actions">
            <button type="submit" disabled={p.saving.fetching}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }
  return (
    <li className="record">
      <div className="record-head">
        <strong className="record-title">{p.title}</strong>
        {p.archived ? <span className="badge">Archived</span> : null}
      </div>
      {p.detail ? <p className="record-body">{p.detail}</p> : null}
      {p.children}
      <div className="actions">
        <button type="button" className="link" onClick={() => setEditing(true)}>
          Edit
        </button>
        <button type="button" className="link" onClick={() => setShowHistory((v) => !v)} aria-expanded={showHistory}>
          History
        </button>
        {p.actions}
        {p.archived ? null : (
          <button
            type="button"
            className="link danger"
            disabled={p.archiving.fetching}
            onClick={() => {
              if (window.confirm(`Archive “${p.title}”?`)) p.onArchive();
            }}
          >
            Archive
          </button>
        )}
      </div>
      <ErrorNotice>{p.archiving.error ? describeGraphql(p.archiving.error) : ""}</ErrorNotice>
      {showHistory ? <History type={p.type} id={p.id} /> : null}
    </li>
  );
}

/** The form that adds a goal or an idea. */
export function NewItem({
  heading,
  detailLabel,
  button,
  result,
  onCreate,
}: {
  heading: string;
  detailLabel: string;
  button: string;
  result: { fetching: boolean; error?: CombinedError };
  onCreate: (title: string, detail: string) => Promise<boolean>;
}) {
  const headingId = `new-${button.replace(/\W+/g, "-").toLowerCase()}`;
  const onSubmit = submitHandler(async (form, f) => {
    if (await onCreate(text(f, "title").trim(), text(f, "detail"))) form.reset();
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby={headingId}>
      <h2 id={headingId}>{heading}</h2>
      <Field label="Title" name="title" required maxLength={500} />
      <div className="field">
        <label htmlFor={`${headingId}-detail`}>{detailLabel}</label>
        <textarea id={`${headingId}-detail`} name="detail" rows={3} />
      </div>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" disabled={result.fetching}>
        {button}
      </button>
    </form>
  );
}
