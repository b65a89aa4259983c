import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { SecretOnce } from "../../components/SecretOnce";
import { CreateScimToken, RevokeScimToken, ScimQuery } from "./queries.tenant";

/** SCIM provisioning: the URL and tokens an identity provider (Okta, Entra ID) uses to
 * create, update and deactivate this workspace's members. Owners and admins, from a session. */
export function Provisioning() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: ScimQuery });
  const [mint, doMint] = useMutation(CreateScimToken);
  const [revoke, doRevoke] = useMutation(RevokeScimToken);
  const [secret, setSecret] = useState("");
  const onMint = submitHandler(async (form, f) => {
    const r = await doMint({ name: text(f, "name").trim() });
    if (r.data) {
      setSecret(r.data.createScimToken.secret);
      form.reset();
      refetch({ requestPolicy: "network-only" });
    }
  });
  const failure = error ?? revoke.error;
  const live = data?.scim.tokens.filter((t) => !t.revokedAt) ?? [];
  return (
    <section className="card wide" aria-labelledby="provisioning">
      <h2 id="provisioning">Provisioning (SCIM)</h2>
      {fetching && !data ? <Loading what="provisioning" /> : null}
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      {data ? (
        <>
          <p>
            Your identity provider adds, updates and deactivates members here, and its groups become teams (new ones restricted to their
            members until you open them); a person it deactivates loses access at once. SCIM base URL (Okta:
            “SCIM connector base URL”, Entra ID: “Tenant URL”):
          </p>
          <code data-testid="scim-base-url">{data.scim.baseUrl}</code>
        </>
      ) : null}
      {data && live.length === 0 ? <Empty>No SCIM tokens.</Empty> : null}
      {live.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {live.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{new Date(t.createdAt).toLocaleString()}</td>
                <td>{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : "never"}</td>
                <td>
                  <button
                    type="button"
                    className="link danger"
                    onClick={() => {
                      if (window.confirm(`Revoke “${t.name}”? The identity provider's next request is refused.`))
                        void doRevoke({ id: t.id }).then(() => refetch({ requestPolicy: "network-only" }));
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <SecretOnce what="SCIM token" secret={secret} testId="new-scim-token" />
      <form onSubmit={onMint} aria-label="New SCIM token">
        <Field label="SCIM token name" name="name" required maxLength={100} placeholder="Okta" />
        <ErrorNotice>{mint.error ? describeGraphql(mint.error) : ""}</ErrorNotice>
        <button type="submit" disabled={mint.fetching}>
          Create SCIM token
        </button>
      </form>
    </section>
  );
}
