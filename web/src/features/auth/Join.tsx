import { useEffect, useState } from "react";
import { submitHandler, text } from "../../components/form";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { postJson } from "../../app/api";
import { describeApi, describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { fragmentToken, useSubmit } from "./forms";
import { AcceptInvitation, MeQuery } from "./queries.global";

interface Preview {
  workspace: { slug: string; name: string };
  email: string;
  role: string;
  status: "PENDING" | "EXPIRED" | "REVOKED" | "ACCEPTED";
  expiresAt: string;
  ssoOnly: boolean;
  mfaRequired: boolean;
}

const STATUS_TEXT: Record<Exclude<Preview["status"], "PENDING">, string> = {
  EXPIRED: "This invitation has expired. Ask the person who invited you to resend it.",
  REVOKED: "This invitation was withdrawn.",
  ACCEPTED: "This invitation was accepted already. Sign in to open the workspace.",
};

/**
 * An invitation link (`/join/<slug>#<token>`): what it offers, then join — signed in, by
 * accepting; new to Tessera, by signing up with the invited address.
 */
export function Join() {
  const { slug = "" } = useParams();
  // The token stays in this tab only (not in the URL), so that signing in first keeps it.
  const [token] = useState(() => {
    const key = `tessera.invitation.${slug}`;
    const t = fragmentToken() || sessionStorage.getItem(key) || "";
    if (t) sessionStorage.setItem(key, t);
    window.history.replaceState(null, "", `/join/${encodeURIComponent(slug)}`);
    return t;
  });
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState("");
  const [me] = useQuery({ query: MeQuery });

  useEffect(() => {
    void postJson<Preview>("/auth/invitation", { workspace: slug, token }).then((r) => {
      if (r.ok) setPreview(r.data);
      else setError(describeApi(r.error));
    });
  }, [slug, token]);

  const title = preview ? `Join ${preview.workspace.name}` : "Join a workspace";
  if (error) {
    return (
      <Page title={title}>
        <ErrorNotice>{error}</ErrorNotice>
      </Page>
    );
  }
  if (!preview || me.fetching) return <Loading what="the invitation" />;
  return (
    <Page title={title}>
      <div className="card">
        <p>
          <strong>{preview.email}</strong> is invited to <strong>{preview.workspace.name}</strong> as{" "}
          {preview.role.toLowerCase()}.
        </p>
        {preview.status !== "PENDING" ? (
          <ErrorNotice>{STATUS_TEXT[preview.status]}</ErrorNotice>
        ) : preview.ssoOnly ? (
          <p>
            This workspace signs in through its single sign-on.{" "}
            <a href={`/auth/oidc/${encodeURIComponent(preview.workspace.slug)}/start`}>Continue with SSO</a>
          </p>
        ) : me.data ? (
          <Accept slug={preview.workspace.slug} token={token} signedInAs={me.data.me.email} />
        ) : (
          <SignUpToJoin preview={preview} token={token} />
        )}
      </div>
    </Page>
  );
}

function Accept({ slug, token, signedInAs }: { slug: string; token: string; signedInAs: string }) {
  const [result, accept] = useMutation(AcceptInvitation);
  async function onClick() {
    const r = await accept({ workspace: slug, token });
    if (r.data) {
      sessionStorage.removeItem(`tessera.invitation.${slug}`);
      window.location.assign(`/w/${encodeURIComponent(r.data.acceptInvitation.slug)}`);
    }
  }
  return (
    <>
      <p className="muted">Signed in as {signedInAs}.</p>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="button" onClick={() => void onClick()} disabled={result.fetching}>
        Accept invitation
      </button>
    </>
  );
}

function SignUpToJoin({ preview, token }: { preview: Preview; token: string }) {
  const { busy, error, submit } = useSubmit<{ invitation?: { accepted?: boolean } }>();
  const slug = preview.workspace.slug;
  const onSubmit = submitHandler(async (_form, f) => {
    const r = await submit("/auth/signup", {
      email: preview.email,
      password: text(f, "password"),
      displayName: text(f, "displayName"),
      invitation: { workspace: slug, token },
    });
    if (r.ok) {
      sessionStorage.removeItem(`tessera.invitation.${slug}`);
      window.location.assign(r.data.invitation?.accepted ? `/w/${encodeURIComponent(slug)}` : "/");
    }
  });
  return (
    <form onSubmit={onSubmit}>
      <Field label="Email" name="email" type="email" value={preview.email} readOnly />
      <Field label="Your name" name="displayName" autoComplete="name" required />
      <Field label="Password" name="password" type="password" autoComplete="new-password" minLength={12} required hint="At least 12 characters." />
      <ErrorNotice>{error}</ErrorNotice>
      <button type="submit" disabled={busy}>
        Create account and join
      </button>
      <p className="links">
        Have an account? <Link to={`/signin?next=${encodeURIComponent(`/join/${slug}`)}`}>Sign in to accept</Link>
      </p>
    </form>
  );
}
