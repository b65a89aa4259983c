import { useEffect, useState } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { fileSize } from "../../components/format";
import { SecretOnce } from "../../components/SecretOnce";
import { NetworkAccess } from "./NetworkAccess";
import { Provisioning } from "./Provisioning";
import { Retention } from "./Retention";
import { SsoSettings } from "./SsoSettings";
import { Webhooks } from "./Webhooks";
import { submitHandler, text } from "../../components/form";
import { Empty, ErrorNotice, Loading, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import type { ApiTokenScope } from "../../gql/tenant/graphql";
import {
  ApiTokensQuery,
  CreateApiToken,
  DeleteWorkspace,
  ExportsQuery,
  RevokeApiToken,
  SetMfaRequired,
  SettingsQuery,
  StartExport,
} from "./queries.tenant";

/** Workspace settings: exports, API tokens, webhooks, single sign-on, SCIM provisioning,
 * network access, the MFA policy, deletion — as permitted. */
export function Settings() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: SettingsQuery });
  if (fetching && !data) return <Loading what="settings" />;
  const can = (p: string) => data?.viewer.permissions.includes(p) ?? false;
  return (
    <Page title="Settings">
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {can("export:run") ? <Exports /> : null}
      {can("tokens:read") ? <ApiTokens canMint={can("tokens:mint")} canRevoke={can("tokens:revoke")} /> : null}
      {can("settings:manage") ? <Webhooks /> : null}
      {can("sso:manage") ? <SsoSettings /> : null}
      {can("scim:manage") ? <Provisioning /> : null}
      {can("audit:read") ? <Retention canChange={can("audit:retention")} /> : null}
      {can("settings:manage") ? <NetworkAccess canChange={can("network:manage")} /> : null}
      {can("mfa:manage") && data ? <MfaPolicy required={data.mfaRequired} onChanged={() => refetch({ requestPolicy: "network-only" })} /> : null}
      {can("workspace:delete") ? <DeleteZone /> : null}
      {data && !can("export:run") && !can("tokens:read") ? <Empty>Only owners and admins change this workspace's settings.</Empty> : null}
    </Page>
  );
}

const CSV_TABLES = ["teams", "members", "goals", "projects", "records", "ideas", "attachments"] as const;

/** One table as CSV, streamed from a snapshot as it is read (formulas defused). */
function CsvLinks() {
  const { slug = "" } = useParams();
  return (
    <p className="export-links">
      One table as CSV:{" "}
      {CSV_TABLES.map((t, i) => (
        <span key={t}>
          {i > 0 ? " · " : ""}
          <a href={`/w/${encodeURIComponent(slug)}/export/${t}.csv`} download>
            {t}
          </a>
        </span>
      ))}
    </p>
  );
}

function Exports() {
  const [{ data, error }, refetch] = useQuery({ query: ExportsQuery, requestPolicy: "network-only" });
  const [start, doStart] = useMutation(StartExport);
  const running = data?.exports.some((e) => e.status === "QUEUED" || e.status === "RUNNING") ?? false;
  // Progress: while an export is queued or running, ask again every second.
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => refetch({ requestPolicy: "network-only" }), 1000);
    return () => clearInterval(t);
  }, [running, refetch]);
  const failure = error ?? start.error;
  return (
    <section className="card wide" aria-labelledby="exports">
      <h2 id="exports">Export</h2>
      <p className="muted">The whole workspace as JSON, prepared in the background; each export is kept for a few days.</p>
      <CsvLinks />
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      <button
        type="button"
        disabled={start.fetching || running}
        onClick={() => void doStart({}).then(() => refetch({ requestPolicy: "network-only" }))}
      >
        {running ? "Exporting…" : "Export workspace"}
      </button>
      {data && data.exports.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Status</th>
              <th scope="col">Size</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {data.exports.map((e) => (
              <tr key={e.id}>
                <td>
                  <time dateTime={e.createdAt}>{new Date(e.createdAt).toLocaleString()}</time>
                </td>
                <td>
                  <span role="status">{e.status.toLowerCase()}</span>
                  {e.error ? <span className="muted"> · {e.error}</span> : null}
                </td>
                <td>{fileSize(e.size)}</td>
                <td>{e.status === "DONE" && e.contentUrl ? <a href={e.contentUrl}>Download</a> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

const SCOPES: { scope: ApiTokenScope; label: string }[] = [
  { scope: "READ", label: "Read" },
  { scope: "WRITE", label: "Write" },
  { scope: "SETTINGS", label: "Settings" },
];

function ApiTokens({ canMint, canRevoke }: { canMint: boolean; canRevoke: boolean }) {
  const [{ data, error }, refetch] = useQuery({ query: ApiTokensQuery });
  const [mint, doMint] = useMutation(CreateApiToken);
  const [revoke, doRevoke] = useMutation(RevokeApiToken);
  const [secret, setSecret] = useState("");

  const onMint = submitHandler(async (form, f) => {
    const scopes = SCOPES.filter((s) => f.get(`scope-${s.scope}`) === "on").map((s) => s.scope);
    const r = await doMint({ name: text(f, "name").trim(), scopes });
    if (r.data) {
      setSecret(r.data.createApiToken.secret);
      form.reset();
      refetch({ requestPolicy: "network-only" });
    }
  });

  const failure = error ?? revoke.error;
  const live = data?.apiTokens.filter((t) => !t.revokedAt) ?? [];
  return (
    <section className="card wide" aria-labelledby="tokens">
      <h2 id="tokens">API tokens</h2>
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      {data && live.length === 0 ? <Empty>No API tokens.</Empty> : null}
      {live.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Last used</th>
              {canRevoke ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {live.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.scopes.join(", ")}</td>
                <td>{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : "never"}</td>
                {canRevoke ? (
                  <td>
                    <button
                      type="button"
                      className="link danger"
                      onClick={() => {
                        if (window.confirm(`Revoke “${t.name}”? Integrations using it stop at once.`))
                          void doRevoke({ id: t.id }).then(() => refetch({ requestPolicy: "network-only" }));
                      }}
                    >
                      Revoke
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <SecretOnce what="token" secret={secret} testId="new-token" />
      {canMint ? (
        <form onSubmit={onMint} aria-label="New API token">
          <Field label="Token name" name="name" required maxLength={100} placeholder="CI export job" />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s.scope} className="check">
                <input type="checkbox" name={`scope-${s.scope}`} defaultChecked={s.scope === "READ"} /> {s.label}
              </label>
            ))}
          </fieldset>
          <ErrorNotice>{mint.error ? describeGraphql(mint.error) : ""}</ErrorNotice>
          <button type="submit" disabled={mint.fetching}>
            Create token
          </button>
        </form>
      ) : null}
    </section>
  );
}

function MfaPolicy({ required, onChanged }: { required: boolean; onChanged: () => void }) {
  const [result, set] = useMutation(SetMfaRequired);
  return (
    <section className="card wide" aria-labelledby="mfa">
      <h2 id="mfa">Second factor</h2>
      <p>{required ? "Every member must use an authenticator app or a passkey here." : "Members may sign in with a password alone."}</p>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button
        type="button"
        className="secondary"
        disabled={result.fetching}
        onClick={() => void set({ required: !required }).then((r) => {
          if (!r.error) onChanged();
        })}
      >
        {required ? "Stop requiring a second factor" : "Require a second factor"}
      </button>
    </section>
  );
}

function DeleteZone() {
  const { slug = "" } = useParams();
  const [result, del] = useMutation(DeleteWorkspace);
  const [done, setDone] = useState(false);
  const onDelete = submitHandler(async (_form, f) => {
    const r = await del({ confirmSlug: text(f, "confirm").trim() });
    if (r.data) setDone(true);
  });
  if (done) return <Success>The workspace is deleted. An owner can restore it for 7 days.</Success>;
  return (
    <form className="card wide danger-zone" onSubmit={onDelete} aria-label="Delete workspace">
      <h2>Delete this workspace</h2>
      <p className="muted">Nobody can reach it once deleted; an owner can restore it for 7 days, then it is purged.</p>
      <Field label={`Type ${slug} to confirm`} name="confirm" required autoComplete="off" />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" className="danger" disabled={result.fetching}>
        Delete workspace
      </button>
    </form>
  );
}
