import { submitHandler, text } from "../../components/form";
import { Link } from "react-router";
import { Field } from "../../components/Field";
import { ErrorNotice } from "../../components/Notice";
import { Page } from "../../components/Page";
import { useSubmit } from "./forms";

/** Creates an account (a verification link is mailed) and signs it in. */
export function SignUp() {
  const { busy, error, submit } = useSubmit();

  const onSubmit = submitHandler(async (_form, f) => {
    const r = await submit("/auth/signup", {
      email: text(f, "email"),
      password: text(f, "password"),
      displayName: text(f, "displayName"),
    });
    if (r.ok) window.location.assign("/");
  });

  return (
    <Page title="Create your account">
      <form className="card" onSubmit={onSubmit}>
        <Field label="Your name" name="displayName" autoComplete="name" required autoFocus maxLength={200} />
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          hint="At least 12 characters. A passphrase of a few words works well."
        />
        <ErrorNotice>{error}</ErrorNotice>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <p className="links">
          Have an account? <Link to="/signin">Sign in</Link>
        </p>
      </form>
    </Page>
  );
}
