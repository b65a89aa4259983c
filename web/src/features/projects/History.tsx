import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { ErrorNotice, Loading } from "../../components/Notice";
import type { EntityType } from "../../gql/tenant/graphql";
import { HistoryQuery, RestoreVersion } from "./queries.tenant";

/** Field history of one entity, newest first, each version restorable. */
export function History({ type, id }: { type: EntityType; id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: HistoryQuery, variables: { type, id } });
  const [restore, doRestore] = useMutation(RestoreVersion);
  if (fetching && !data) return <Loading what="history" />;
  const versions = [...(data?.history ?? [])].reverse();
  return (
    <div className="history">
      <ErrorNotice>{error ? describeGraphql(error) : restore.error ? describeGraphql(restore.error) : ""}</ErrorNotice>
      <ol reversed>
        {versions.map((v, i) => (
          <li key={v.version}>
            <span>
              Version {v.version} · <time dateTime={v.at}>{new Date(v.at).toLocaleString()}</time>
              {v.restoredFrom ? ` · restored from version ${v.restoredFrom}` : ""}
            </span>
            <code className="changes">{changesText(v.changes)}</code>
            {i > 0 ? (
              <button
                type="button"
                className="link"
                disabled={restore.fetching}
                onClick={() => void doRestore({ type, id, version: v.version }, { additionalTypenames: ["Record", "Version"] })}
              >
                Restore this version
              </button>
            ) : null}
          </li>
        ))}
      </ol>
    </div>
  );
}

function changesText(changes: unknown): string {
  if (!changes || typeof changes !== "object") return "";
  return Object.entries(changes as Record<string, unknown>)
    .map(([field, change]) => {
      const c = change as { from?: unknown; to?: unknown } | null;
      return c && typeof c === "object" && "to" in c
        ? `${field}: ${JSON.stringify(c.from ?? null)} → ${JSON.stringify(c.to)}`
        : `${field}: ${JSON.stringify(change)}`;
    })
    .join("; ");
}
