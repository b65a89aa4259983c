import { useState } from "react";
import { submitHandler } from "../../components/form";
import { Link, useNavigate } from "react-router";
import { useClient, useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { when } from "../../components/format";
import { CreateWorkspace, DeletedWorkspacesQuery, RestoreWorkspace, WorkspacesQuery } from "./queries.global";
import { SLUG_PATTERN, suggestSlug } from "./slug";

/** The signed-in account's workspaces, and a form to create one. */
export function Home() {
  const [{ data, fetching, error }] = useQuery({ query: WorkspacesQuery });
  return (
    <Page title="Your workspaces">
      {fetching && !data ? <Loading what="your workspaces" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && data.workspaces.length === 0 ? (
        <Empty>You are not in a workspace yet. Create one below, or open an invitation link you were sent.</Empty>
      ) : null}
      {data && data.workspaces.length > 0 ? (
        <ul className="tiles">
          {data.workspaces.map((w) => (
            <li key={w.slug}>
              <Link to={`/w/${w.slug}`} className="tile">
                <strong>{w.name}</strong>
                <span className="muted">
                  /w/{w.slug} · {w.role.toLowerCase()}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
      <NewWorkspace />
      <DeletedWorkspaces />
    </Page>
  );
}

/** Workspaces the caller deleted and can still bring back, until they are purged. */
function DeletedWorkspaces() {
  const [{ data }, refetch] = useQuery({ query: DeletedWorkspacesQuery });
  const [restored, restore] = useMutation(RestoreWorkspace);
  const client = useClient();
  const deleted = data?.myDeletedWorkspaces ?? [];
  if (deleted.length === 0) return null;
  return (
    <section className="card wide" aria-labelledby="deleted">
      <h2 id="deleted">Recently deleted</h2>
      <ErrorNotice>{restored.error ? describeGraphql(restored.error) : ""}</ErrorNotice>
      <ul className="plain">
        {deleted.map((w) => (
          <li key={w.slug}>
            <strong>{w.name}</strong> <span className="muted">/w/{w.slug}</span>
            {w.purgeAfter ? <span className="muted"> · removed for good after {when(w.purgeAfter)}</span> : null}{" "}
            <button
              type="button"
              className="secondary"
              disabled={restored.fetching}
              onClick={() =>
                void restore({ slug: w.slug }).then((r) => {
                  if (r.data) {
                    refetch({ requestPolicy: "network-only" });
                    void client.query(WorkspacesQuery, {}, { requestPolicy: "network-only" }).toPromise();
                  }
                })
              }
            >
              Restore
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewWorkspace() {
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugEdited, setSlugEdited] = useState(false);
  const [result, create] = useMutation(CreateWorkspace);
  const client = useClient();

  const onSubmit = submitHandler(async () => {
    const r = await create({ name: name.trim(), slug }, { additionalTypenames: ["Workspace"] });
    if (!r.data) return;
    // An empty list carries no type to invalidate: fetch it again (the switcher shows it).
    await client.query(WorkspacesQuery, {}, { requestPolicy: "network-only" }).toPromise();
    void navigate(`/w/${r.data.createWorkspace.slug}`);
  });

  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-ws">
      <h2 id="new-ws">Create a workspace</h2>
      <Field
        label="Name"
        name="name"
        value={name}
        required
        maxLength={200}
        onChange={(e) => {
          setName(e.target.value);
          if (!slugEdited) setSlug(suggestSlug(e.target.value));
        }}
      />
      <Field
        label="Address"
        name="slug"
        value={slug}
        required
        pattern={SLUG_PATTERN}
        hint={`Your workspace lives at /w/${slug || "…"}. 3 to 40 lowercase letters, digits or _.`}
        onChange={(e) => {
          setSlugEdited(true);
          setSlug(e.target.value);
        }}
      />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" disabled={result.fetching}>
        {result.fetching ? "Creating…" : "Create workspace"}
      </button>
    </form>
  );
}
