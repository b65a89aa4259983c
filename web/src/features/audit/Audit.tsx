import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { useParams } from "react-router";
import { useClient, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { when } from "../../components/format";
import { Empty, ErrorNotice, Loading, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import type { AuditEntriesQuery as AuditEntriesResult, AuditStatusQuery as AuditStatusResult } from "../../gql/tenant/graphql";
import { payloadDiff } from "./diff";
import { AuditEntriesQuery, AuditStatusQuery } from "./queries.tenant";

interface Filters {
  from: string | null;
  to: string | null;
  actions: string[];
  actorUser: string | null;
  targetId: string | null;
}

const NO_FILTERS: Filters = { from: null, to: null, actions: [], actorUser: null, targetId: null };

function dayStart(s: string, end = false): string | null {
  if (!s) return null;
  return new Date(`${s}T${end ? "23:59:59.999" : "00:00:00"}`).toISOString();
}

/** The audit explorer: filter, read an entry's before/after, verify the chain. */
export function Audit() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [after, setAfter] = useState<number[]>([0]);
  const cursor = after[after.length - 1] ?? 0;
  const [{ data, fetching, error }] = useQuery({ query: AuditEntriesQuery, variables: { ...filters, after: cursor } });
  const [open, setOpen] = useState<number | null>(null);

  const onFilter = submitHandler((_form, f) => {
    const given = (k: string) => text(f, k).trim() || null;
    setFilters({
      from: dayStart(text(f, "from")),
      to: dayStart(text(f, "to"), true),
      actions: text(f, "action").split(",").map((a) => a.trim()).filter(Boolean),
      actorUser: given("actor"),
      targetId: given("target"),
    });
    setAfter([0]);
  });

  const entries = data?.auditEntries ?? [];
  return (
    <Page title="Audit log">
      <Verify />
      <form className="filters" onSubmit={onFilter} aria-label="Filter entries">
        <Field label="Action" name="action" placeholder="updateRecord, removeMember" />
        <Field label="Actor (user id)" name="actor" />
        <Field label="Entity id" name="target" />
        <Field label="From" name="from" type="date" />
        <Field label="To" name="to" type="date" />
        <button type="submit">Filter</button>
      </form>
      <ExportLinks filters={filters} />
      {fetching && !data ? <Loading what="entries" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && entries.length === 0 ? <Empty>No entries match.</Empty> : null}
      {entries.length > 0 ? (
        <table className="audit">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Entity</th>
              <th scope="col">Actor</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <AuditRow key={e.seq} entry={e} open={open === e.seq} onToggle={() => setOpen(open === e.seq ? null : e.seq)} />
            ))}
          </tbody>
        </table>
      ) : null}
      <nav className="pager" aria-label="Pages">
        <button type="button" className="secondary" disabled={after.length === 1} onClick={() => setAfter((a) => a.slice(0, -1))}>
          Previous
        </button>
        <button
          type="button"
          className="secondary"
          disabled={entries.length < 50}
          onClick={() => setAfter((a) => [...a, entries[entries.length - 1]?.seq ?? 0])}
        >
          Next
        </button>
      </nav>
    </Page>
  );
}

type Entry = AuditEntriesResult["auditEntries"][number];

/** The download of the entries the filters select (time range and actions). */
export function auditExportUrl(slug: string, filters: Pick<Filters, "from" | "to" | "actions">, format: "json" | "csv"): string {
  const q = new URLSearchParams({ format });
  if (filters.from) q.set("from", filters.from);
  if (filters.to) q.set("to", filters.to);
  if (filters.actions.length > 0) q.set("action", filters.actions.join(","));
  return `/w/${encodeURIComponent(slug)}/audit/export?${q.toString()}`;
}

function ExportLinks({ filters }: { filters: Filters }) {
  const { slug = "" } = useParams();
  const range = filters.from || filters.to ? "the selected dates" : "all dates";
  return (
    <p className="export-links">
      Export {range}
      {filters.actions.length > 0 ? ` (${filters.actions.join(", ")})` : ""}:{" "}
      <a href={auditExportUrl(slug, filters, "json")} download>
        JSON Lines
      </a>{" "}
      ·{" "}
      <a href={auditExportUrl(slug, filters, "csv")} download>
        CSV
      </a>
      <small className="hint"> JSON Lines carries each entry's hash and the signed checkpoints, to check it against the chain.</small>
    </p>
  );
}

function AuditRow({ entry, open, onToggle }: { entry: Entry; open: boolean; onToggle: () => void }) {
  const changes = open ? payloadDiff(entry.payload) : [];
  return (
    <>
      <tr>
        <td>{entry.seq}</td>
        <td>
          <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
        </td>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {entry.action}
          </button>
        </td>
        <td>
          {entry.targetType} <code>{entry.targetId}</code>
        </td>
        <td>
          {entry.actorType} <code>{entry.actorUser}</code>
        </td>
      </tr>
      {open ? (
        <tr className="detail">
          <td colSpan={5}>
            {entry.erased ? <p className="muted">This entry's payload was erased; its hash still links the chain.</p> : null}
            {changes.length > 0 ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((c) => (
                    <tr key={c.field}>
                      <td>{c.field}</td>
                      <td className="before">{c.before}</td>
                      <td className="after">{c.after}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            <details>
              <summary>Full entry</summary>
              <pre>{JSON.stringify(entry.payload ?? null, null, 2)}</pre>
            </details>
            <p className="muted">
              From {entry.clientIp || "—"} · hash <code>{entry.hash}</code>
            </p>
          </td>
        </tr>
      ) : null}
    </>
  );
}

function Verify() {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<AuditStatusResult["auditStatus"] | null>(null);
  const [error, setError] = useState("");
  async function verify() {
    setBusy(true);
    setError("");
    const r = await client.query(AuditStatusQuery, {}, { requestPolicy: "network-only" }).toPromise();
    setBusy(false);
    if (r.error) setError(describeGraphql(r.error));
    setStatus(r.data?.auditStatus ?? null);
  }
  const s = status;
  return (
    <div className="card verify">
      <button type="button" onClick={() => void verify()} disabled={busy}>
        {busy ? "Verifying…" : "Verify the chain"}
      </button>
      <ErrorNotice>{error}</ErrorNotice>
      {s && s.ok ? (
        <Success>
          Intact: {s.entries} entries up to #{s.lastSeq}, {s.checkpoints} signed checkpoints.
        </Success>
      ) : null}
      {s ? (
        <p className="muted">
          {s.lastCheckpoint
            ? `Last signed checkpoint: entry #${String(s.lastCheckpoint.seq)}, signed ${when(s.lastCheckpoint.signedAt)} with key ${String(s.lastCheckpoint.keyId)}.`
            : "No signed checkpoint yet: the server signs one every few minutes while entries are added."}
        </p>
      ) : null}
      {s && !s.ok ? (
        <ErrorNotice>
          Broken at entry #{s.firstBadSeq ?? "?"}: {s.reason ?? "the chain does not verify"}.
        </ErrorNotice>
      ) : null}
    </div>
  );
}
