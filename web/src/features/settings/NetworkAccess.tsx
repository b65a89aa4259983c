import { useId, useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { submitHandler } from "../../components/form";
import { ErrorNotice, Loading, Success } from "../../components/Notice";
import { NetworkAccessQuery, SetIpAllowlist } from "./queries.tenant";

/** The networks typed into the editor: one per line (commas and spaces also separate). */
export function networksOf(typed: string): string[] {
  return typed
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The workspace's IP allowlist: shown to admins, edited by owners from a browser session. */
export function NetworkAccess({ canChange }: { canChange: boolean }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: NetworkAccessQuery });
  const [saved, save] = useMutation(SetIpAllowlist);
  const [draft, setDraft] = useState<string | null>(null);
  const editorId = useId();
  const a = data?.networkAccess;
  const current = a ? a.allowlist.join("\n") : "";
  const typed = draft ?? current;
  const onSave = submitHandler(async () => {
    const res = await save({ networks: networksOf(typed) });
    if (res.data) {
      setDraft(null);
      refetch({ requestPolicy: "network-only" });
    }
  });
  const mine = a?.yourAddress ?? null;
  // Whether the draft names the caller's address itself (a network that contains it is
  // checked by the server's lock-out guard, which has the last word).
  const listed = mine !== null && networksOf(typed).some((n) => n === mine || n === `${mine}/${mine.includes(":") ? "128" : "32"}`);
  return (
    <section className="card wide" aria-labelledby="network">
      <h2 id="network">Network access</h2>
      {fetching && !data ? <Loading what="the network rules" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {a ? (
        <>
          <p>
            {a.allowlist.length === 0
              ? "Every address may reach this workspace."
              : `Only ${a.allowlist.length === 1 ? "this network" : `these ${String(a.allowlist.length)} networks`} may reach this workspace — the web app, API tokens, file links, exports and live updates alike:`}
          </p>
          {a.allowlist.length > 0 ? (
            <ul aria-label="Allowed networks">
              {a.allowlist.map((n) => (
                <li key={n}>
                  <code>{n}</code>
                </li>
              ))}
            </ul>
          ) : null}
          <p>
            Your address, as Tessera sees it: <strong data-testid="your-address">{mine ?? "unknown"}</strong>
          </p>
        </>
      ) : null}
      {saved.data && !saved.error ? (
        <Success>
          {saved.data.setIpAllowlist.allowlist.length === 0 ? "Every address may reach this workspace again." : "Allowlist saved; it applies from the next request."}
        </Success>
      ) : null}
      {canChange && a ? (
        <form onSubmit={onSave} aria-label="IP allowlist">
          <div className="field">
            <label htmlFor={editorId}>Allowed networks, one per line</label>
            <textarea
              id={editorId}
              name="networks"
              rows={5}
              spellCheck={false}
              value={typed}
              onChange={(e) => setDraft(e.target.value)}
              aria-describedby={`${editorId}-hint`}
            />
            <small id={`${editorId}-hint`} className="hint">
              IPv4 or IPv6 networks (203.0.113.0/24, 2001:db8::/32) or single addresses. Leave it empty to allow every address. The list must
              include the address you save it from, so that you cannot lock yourself out.
            </small>
          </div>
          <ErrorNotice>{saved.error ? describeGraphql(saved.error) : ""}</ErrorNotice>
          {mine !== null && !listed ? (
            <button type="button" className="secondary" onClick={() => setDraft(typed.trim() ? `${typed.trim()}\n${mine}` : mine)}>
              Add my address
            </button>
          ) : null}{" "}
          <button type="submit" disabled={saved.fetching}>
            Save allowlist
          </button>
        </form>
      ) : null}
    </section>
  );
}
