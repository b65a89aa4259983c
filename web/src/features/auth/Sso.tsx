import { submitHandler, text } from "../../components/form";
import { Field } from "../../components/Field";
import { Page } from "../../components/Page";

/** "Sign in with SSO": the workspace's address leads to its identity provider. */
export function Sso() {
  const onSubmit = submitHandler((_form, f) => {
    const slug = text(f, "slug").trim().toLowerCase();
    window.location.assign(`/auth/oidc/${encodeURIComponent(slug)}/start`);
  });
  return (
    <Page title="Sign in with SSO">
      <form className="card" onSubmit={onSubmit}>
        <Field label="Workspace address" name="slug" required pattern="[a-z][a-z0-9_]{2,39}" hint="The name after /w/ in your workspace's links." autoFocus />
        <button type="submit">Continue</button>
      </form>
    </Page>
  );
}
