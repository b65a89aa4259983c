import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { ErrorNotice, Loading, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Factors } from "./Factors";
import { ChangePassword, RevokeOtherSessions, RevokeSession, SecurityQuery } from "./queries.global";

const SESSION_TYPES = { additionalTypenames: ["SessionInfo", "SecurityEvent"] };

/** The account's security: password, sessions and devices, the security log. */
export function Security() {
  const [{ data, fetching, error }] = useQuery({ query: SecurityQuery });
  const [revoke, doRevoke] = useMutation(RevokeSession);
  const [others, doOthers] = useMutation(RevokeOtherSessions);
  const failure = error ?? revoke.error ?? others.error;
  return (
    <Page title="Security">
      {fetching && !data ? <Loading what="your security settings" /> : null}
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      {data ? (
        <>
          <p className="muted">
            Second factors: {data.mySecondFactors.totp ? "authenticator app" : "no authenticator app"},{" "}
            {data.mySecondFactors.passkeys} passkey(s), {data.mySecondFactors.recoveryCodesLeft} recovery codes left.
          </p>
          <h2>Sessions and devices</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Address</th>
                <th scope="col">Last seen</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.mySessions.map((s) => (
                <tr key={s.id}>
                  <td>{s.userAgent || "Unknown device"}</td>
                  <td>{s.ip}</td>
                  <td>
                    <time dateTime={s.lastSeenAt}>{new Date(s.lastSeenAt).toLocaleString()}</time>
                  </td>
                  <td>
                    {s.current ? (
                      <span className="muted">This session</span>
                    ) : (
                      <button type="button" className="link danger" onClick={() => void doRevoke({ id: s.id }, SESSION_TYPES)}>
                        Sign out
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.mySessions.length > 1 ? (
            <button type="button" className="secondary" disabled={others.fetching} onClick={() => void doOthers({}, SESSION_TYPES)}>
              Sign out every other session
            </button>
          ) : null}
          <Factors />
          <PasswordForm />
          <h2>Security log</h2>
          <ol className="events">
            {data.me.securityEvents.map((e) => (
              <li key={e.id}>
                <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time> · <code>{e.action}</code> · {e.ip}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </Page>
  );
}

function PasswordForm() {
  const [result, change] = useMutation(ChangePassword);
  const [done, setDone] = useState(false);
  const onSubmit = submitHandler(async (form, f) => {
    const code = text(f, "code").trim();
    const r = await change(
      { current: text(f, "current"), next: text(f, "next"), secondFactor: code || null },
      SESSION_TYPES,
    );
    if (r.data) {
      setDone(true);
      form.reset();
    }
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="pw">
      <h2 id="pw">Change password</h2>
      <Field label="Current password" name="current" type="password" autoComplete="current-password" required />
      <Field label="New password" name="next" type="password" autoComplete="new-password" minLength={12} required />
      <Field label="Authenticator or recovery code (if you have one)" name="code" autoComplete="one-time-code" />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      {done ? <Success>Password changed. Every other session was signed out.</Success> : null}
      <button type="submit" disabled={result.fetching}>
        Change password
      </button>
    </form>
  );
}
