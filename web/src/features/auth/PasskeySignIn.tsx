import { useEffect, useRef, useState } from "react";
import { postJson } from "../../app/api";
import { describeApi } from "../../app/errors";
import { ErrorNotice } from "../../components/Notice";
import { conditionalMediationAvailable, getAssertion, passkeysSupported } from "./webauthn";

interface Options {
  ceremonyId: string;
  options: { publicKey: unknown };
}

async function signInWith(conditional: boolean, signal?: AbortSignal): Promise<string | null> {
  const started = await postJson<Options>("/auth/passkey/options", {});
  if (!started.ok) return describeApi(started.error);
  const credential = await getAssertion(started.data.options, signal, conditional);
  const done = await postJson("/auth/passkey", { ceremonyId: started.data.ceremonyId, credential });
  return done.ok ? null : describeApi(done.error);
}

/**
 * "Sign in with a passkey", and passkey autofill: while the sign-in form is open, the
 * browser offers the account's passkeys in the email field's suggestions.
 */
export function PasskeySignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const autofill = useRef<AbortController | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    autofill.current = ctl;
    void (async () => {
      if (!(await conditionalMediationAvailable())) return;
      try {
        const failed = await signInWith(true, ctl.signal);
        if (failed) setError(failed);
        else onSignedIn();
      } catch {
        // Aborted (the button was used instead, or the page left): nothing to say.
      }
    })();
    return () => ctl.abort();
  }, [onSignedIn]);

  if (!passkeysSupported()) return null;

  async function onClick() {
    autofill.current?.abort();
    setBusy(true);
    setError("");
    try {
      const failed = await signInWith(false);
      if (failed) setError(failed);
      else onSignedIn();
    } catch (e) {
      console.warn("passkey sign-in:", e);
      setError("The passkey sign-in was cancelled or is not available on this device.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" className="secondary" onClick={() => void onClick()} disabled={busy}>
        Sign in with a passkey
      </button>
      <ErrorNotice>{error}</ErrorNotice>
    </>
  );
}
