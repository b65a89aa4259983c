import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { ErrorNotice, Loading, Success } from "../../components/Notice";
import type { SsoJitRole } from "../../gql/tenant/graphql";
import { ConfigureSso, SetSsoOnly, SsoQuery } from "./queries.tenant";

function jitRoleOf(v: string): SsoJitRole | null {
  return v === "ADMIN" || v === "MEMBER" ? v : null;
}

/** OIDC single sign-on: the provider, who may join at first sign-in, and SSO-only. */
export function SsoSettings() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: SsoQuery });
  const [saved, save] = useMutation(ConfigureSso);
  const [only, setOnly] = useMutation(SetSsoOnly);
  const sso = data?.sso ?? null;

  const onSave = submitHandler(async (_form, f) => {
    const r = await save({
      issuer: text(f, "issuer").trim(),
      clientId: text(f, "clientId").trim(),
      clientSecret: text(f, "clientSecret"),
      jitRole: jitRoleOf(text(f, "jitRole")),
    });
    if (r.data) refetch({ requestPolicy: "network-only" });
  });

  return (
    <section className="card wide" aria-labelledby="sso">
      <h2 id="sso">Single sign-on</h2>
      {fetching && !data ? <Loading what="single sign-on" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : only.error ? describeGraphql(only.error) : ""}</ErrorNotice>
      {sso ? (
        <dl className="facts">
          <dt>Provider</dt>
          <dd className="wrap">{sso.issuer}</dd>
          <dt>Redirect URI to register with it</dt>
          <dd>
            <code>{sso.callbackUrl}</code>
          </dd>
          <dt>Sign-in link for your people</dt>
          <dd>
            <code>{sso.startUrl}</code>
          </dd>
          <dt>Only through SSO</dt>
          <dd>
            {sso.ssoOnly ? "Yes: passwords and passkeys do not open this workspace." : "No: members may also sign in with a password or passkey."}{" "}
            <button
              type="button"
              className="secondary"
              disabled={only.fetching}
              onClick={() => {
                const next = !sso.ssoOnly;
                if (!next || window.confirm("Accept only sign-ins through SSO? Sessions from passwords or passkeys stop working here."))
                  void setOnly({ only: next }).then(() => refetch({ requestPolicy: "network-only" }));
              }}
            >
              {sso.ssoOnly ? "Allow other sign-ins" : "Require SSO"}
            </button>
          </dd>
        </dl>
      ) : data ? (
        <p className="muted">Not configured. People sign in with their Tessera account.</p>
      ) : null}
      {saved.data && !saved.error ? <Success>Single sign-on saved; the provider answered its discovery document.</Success> : null}
      <form onSubmit={onSave} aria-label="Configure single sign-on">
        <Field label="Issuer URL" name="issuer" type="url" required defaultValue={sso?.issuer ?? ""} placeholder="https://login.example.com" />
        <Field label="Client ID" name="clientId" required defaultValue={sso?.clientId ?? ""} />
        <Field label="Client secret" name="clientSecret" type="password" required autoComplete="off" hint="Sealed on the server and never shown again." />
        <div className="field">
          <label htmlFor="sso-jit">New people at their first sign-in</label>
          <select id="sso-jit" name="jitRole" defaultValue={sso?.jitRole ?? ""}>
            <option value="">Invitation only</option>
            <option value="MEMBER">Join as members</option>
            <option value="ADMIN">Join as admins</option>
          </select>
        </div>
        <ErrorNotice>{saved.error ? describeGraphql(saved.error) : ""}</ErrorNotice>
        <button type="submit" disabled={saved.fetching}>
          {saved.fetching ? "Checking the provider…" : "Save single sign-on"}
        </button>
      </form>
    </section>
  );
}
