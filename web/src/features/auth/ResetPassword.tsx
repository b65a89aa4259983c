import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { Link } from "react-router";
import { Field } from "../../components/Field";
import { ErrorNotice, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import { fragmentToken, useSubmit } from "./forms";

/** Asks for a reset link. The answer is the same whether or not the address has an account. */
export function ForgotPassword() {
  const { busy, error, submit } = useSubmit<{ message: string }>();
  const [sent, setSent] = useState(false);

  const onSubmit = submitHandler(async (_form, f) => {
    const r = await submit("/auth/password-reset", { email: text(f, "email") });
    if (r.ok) setSent(true);
  });

  return (
    <Page title="Reset your password">
      <form className="card" onSubmit={onSubmit}>
        {sent ? (
          <Success>If an account has this address, a link to reset its password is on its way. It is valid for 30 minutes.</Success>
        ) : (
          <>
            <Field label="Email" name="email" type="email" autoComplete="email" required autoFocus />
            <ErrorNotice>{error}</ErrorNotice>
            <button type="submit" disabled={busy}>
              Send me a link
            </button>
          </>
        )}
        <p className="links">
          <Link to="/signin">Back to sign in</Link>
        </p>
      </form>
    </Page>
  );
}

/** Opened from the mailed link: sets a new password (every session of the account ends). */
export function ResetPassword() {
  const [token] = useState(() => {
    const t = fragmentToken();
    window.history.replaceState(null, "", "/reset-password");
    return t;
  });
  const { busy, error, submit } = useSubmit();
  const [done, setDone] = useState(false);

  const onSubmit = submitHandler(async (_form, f) => {
    const r = await submit("/auth/password-reset/confirm", { token, password: text(f, "password") });
    if (r.ok) setDone(true);
  });

  return (
    <Page title="Choose a new password">
      <form className="card" onSubmit={onSubmit}>
        {done ? (
          <Success>
            Your password is changed and every session of your account has ended. <Link to="/signin">Sign in</Link>
          </Success>
        ) : (
          <>
            <Field
              label="New password"
              name="password"
              type="password"
              autoComplete="new-password"
              minLength={12}
              required
              autoFocus
              hint="At least 12 characters."
            />
            <ErrorNotice>{error}</ErrorNotice>
            <button type="submit" disabled={busy || !token}>
              Set password
            </button>
          </>
        )}
      </form>
    </Page>
  );
}
