import { useCallback, useState } from "react";
import { submitHandler, text } from "../../components/form";
import { Link, useLocation } from "react-router";
import { Field } from "../../components/Field";
import { ErrorNotice } from "../../components/Notice";
import { Page } from "../../components/Page";
import { nextPath, useSubmit } from "./forms";
import { PasskeySignIn } from "./PasskeySignIn";

interface SignedIn {
  aal: string;
  secondFactorRequired?: boolean;
}

/** Password sign-in, then a second step for an authenticator or recovery code. */
export function SignIn() {
  const location = useLocation();
  const [step, setStep] = useState<"password" | "code">("password");
  const { busy, error, submit } = useSubmit<SignedIn>();
  // A full navigation: nothing cached for a previous account survives the sign-in.
  const done = useCallback(() => window.location.assign(nextPath(location.search)), [location.search]);

  const onPassword = submitHandler(async (_form, f) => {
    const r = await submit("/auth/signin", { email: text(f, "email"), password: text(f, "password") });
    if (!r.ok) return;
    if (r.data.secondFactorRequired) setStep("code");
    else done();
  });

  const onCode = submitHandler(async (_form, f) => {
    const r = await submit("/auth/mfa", { code: text(f, "code").trim() });
    if (r.ok) done();
  });

  if (step === "code") {
    return (
      <Page title="Second step">
        <form className="card" onSubmit={onCode} aria-describedby="code-help">
          <p id="code-help">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
          <Field label="Code" name="code" autoComplete="one-time-code" inputMode="text" required autoFocus />
          <ErrorNotice>{error}</ErrorNotice>
          <button type="submit" disabled={busy}>
            {busy ? "Checking…" : "Continue"}
          </button>
        </form>
      </Page>
    );
  }

  return (
    <Page title="Sign in">
      <form className="card" onSubmit={onPassword}>
        <Field label="Email" name="email" type="email" autoComplete="username webauthn" required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <ErrorNotice>{error}</ErrorNotice>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <PasskeySignIn onSignedIn={done} />
        <p className="links">
          <Link to="/forgot-password">Forgot your password?</Link> · <Link to="/signup">Create an account</Link> ·{" "}
          <Link to="/sso">Sign in with SSO</Link>
        </p>
      </form>
    </Page>
  );
}
