import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { postJson } from "../../app/api";
import { describeApi } from "../../app/errors";
import { ErrorNotice, Loading, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import { fragmentToken } from "./forms";

/** Opened from the mailed link: confirms the address with the token in the fragment. */
export function VerifyEmail() {
  const [state, setState] = useState<string>("working");
  const once = useRef(false);

  useEffect(() => {
    if (once.current) return;
    once.current = true;
    void postJson("/auth/verify-email", { token: fragmentToken() }).then((r) => {
      // The token has done its work: take it out of the address bar and history.
      window.history.replaceState(null, "", "/verify-email");
      setState(r.ok ? "done" : describeApi(r.error));
    });
  }, []);

  return (
    <Page title="Confirm your email">
      <div className="card">
        {state === "working" ? <Loading what="your confirmation" /> : null}
        {state === "done" ? <Success>Your email address is confirmed.</Success> : null}
        {state !== "working" && state !== "done" ? <ErrorNotice>{state}</ErrorNotice> : null}
        <p>
          <Link to="/">Continue to Tessera</Link>
        </p>
      </div>
    </Page>
  );
}
