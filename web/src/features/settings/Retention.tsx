import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { ErrorNotice, Loading, Success } from "../../components/Notice";
import { AuditRetentionQuery, SetAuditRetention } from "./queries.tenant";

/** A window in days, in words: "7 years", "90 days". */
export function windowWords(days: number): string {
  const years = days / 365.25;
  if (days >= 365 && Math.abs(years - Math.round(years)) < 0.01) {
    const n = Math.round(years);
    return `${String(n)} year${n === 1 ? "" : "s"}`;
  }
  return `${String(days)} days`;
}

/** How long the workspace keeps its audit entries (owners, from a browser session). */
export function Retention({ canChange }: { canChange: boolean }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AuditRetentionQuery });
  const [saved, save] = useMutation(SetAuditRetention);
  const r = data?.auditRetention;
  const onSave = submitHandler(async (_form, f) => {
    const days = Number(text(f, "days"));
    const res = await save({ days });
    if (res.data) refetch({ requestPolicy: "network-only" });
  });
  return (
    <section className="card wide" aria-labelledby="retention">
      <h2 id="retention">Audit retention</h2>
      {fetching && !data ? <Loading what="the retention window" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {r ? (
        <p>
          Entries are kept for <strong>{windowWords(r.days)}</strong>; older ones are removed daily, behind a signed checkpoint that keeps the rest
          verifiable.{" "}
          {r.firstKept > 1 ? `The chain now starts at entry #${String(r.firstKept)}.` : "Nothing has been removed yet."}
        </p>
      ) : null}
      {saved.data && !saved.error ? <Success>Retention set to {windowWords(saved.data.setAuditRetention)}.</Success> : null}
      {canChange && r ? (
        <form onSubmit={onSave} aria-label="Audit retention">
          <Field
            label="Keep entries for (days)"
            name="days"
            type="number"
            min={30}
            max={36525}
            required
            defaultValue={r.days}
            hint="From 30 days to 100 years; 2557 days is 7 years. The change itself is recorded in the audit log."
          />
          <ErrorNotice>{saved.error ? describeGraphql(saved.error) : ""}</ErrorNotice>
          <button type="submit" disabled={saved.fetching}>
            Save retention
          </button>
        </form>
      ) : null}
    </section>
  );
}
