import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { ErrorNotice, Success } from "../../components/Notice";
import { createCredential, passkeysSupported } from "../auth/webauthn";
import {
  BeginTotp,
  ConfirmTotp,
  DeletePasskey,
  DisableTotp,
  FactorsQuery,
  FinishPasskey,
  RegenerateRecoveryCodes,
  RenamePasskey,
  StartPasskey,
} from "./factors.global";

const NETWORK_ONLY = { requestPolicy: "network-only" } as const;

/** Recovery codes, shown once with a way to keep them. */
function RecoveryCodes({ codes }: { codes: string[] }) {
  if (codes.length === 0) return null;
  return (
    <div className="secret" role="status">
      <p>
        <strong>Save these recovery codes now.</strong> Each signs you in once if you lose your device; they are not shown
        again.
      </p>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Second factors: the authenticator app (with its QR code), passkeys, recovery codes. */
export function Factors() {
  const [{ data, error }, refetch] = useQuery({ query: FactorsQuery });
  const [codes, setCodes] = useState<string[]>([]);
  const reload = () => refetch(NETWORK_ONLY);
  const f = data?.mySecondFactors;
  return (
    <section aria-labelledby="factors">
      <h2 id="factors">Second factors</h2>
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      <RecoveryCodes codes={codes} />
      {f ? (
        <>
          <Totp enrolled={f.totp} hasFactor={f.totp || f.passkeys > 0} onCodes={setCodes} onChanged={reload} />
          <Passkeys passkeys={data.myPasskeys} hasFactor={f.totp || f.passkeys > 0} onCodes={setCodes} onChanged={reload} />
          {f.totp || f.passkeys > 0 ? <Recovery left={f.recoveryCodesLeft} onCodes={setCodes} onChanged={reload} /> : null}
        </>
      ) : null}
    </section>
  );
}

interface FactorProps {
  hasFactor: boolean;
  onCodes: (codes: string[]) => void;
  onChanged: () => void;
}

/** Adding a factor to an account that has one needs a current code: asked for here. */
function CurrentCode({ needed }: { needed: boolean }) {
  if (!needed) return null;
  return <Field label="Current authenticator or recovery code" name="secondFactor" autoComplete="one-time-code" hint="Needed unless you confirmed one in the last 5 minutes." />;
}

function Totp({ enrolled, hasFactor, onCodes, onChanged }: FactorProps & { enrolled: boolean }) {
  const [begin, doBegin] = useMutation(BeginTotp);
  const [confirm, doConfirm] = useMutation(ConfirmTotp);
  const [disable, doDisable] = useMutation(DisableTotp);
  const [done, setDone] = useState(false);
  const enrollment = begin.data?.beginTotpEnrollment;

  const onBegin = submitHandler(async (_form, f) => {
    setDone(false);
    await doBegin({ secondFactor: text(f, "secondFactor").trim() || null });
  });
  const onConfirm = submitHandler(async (_form, f) => {
    const r = await doConfirm({ code: text(f, "code").trim() });
    if (r.data) {
      onCodes(r.data.confirmTotp);
      setDone(true);
      onChanged();
    }
  });
  const onDisable = submitHandler(async (_form, f) => {
    const r = await doDisable({ secondFactor: text(f, "secondFactor").trim() || null });
    if (r.data) onChanged();
  });

  if (enrolled && !enrollment) {
    return (
      <form className="card" onSubmit={onDisable} aria-label="Authenticator app">
        <h3>Authenticator app</h3>
        <p>On. Sign-ins ask for its 6-digit code.</p>
        <CurrentCode needed />
        <ErrorNotice>{disable.error ? describeGraphql(disable.error) : ""}</ErrorNotice>
        <button type="submit" className="danger" disabled={disable.fetching}>
          Turn off
        </button>
      </form>
    );
  }
  if (enrollment && !done) {
    return (
      <form className="card" onSubmit={onConfirm} aria-label="Confirm authenticator app">
        <h3>Scan with your authenticator app</h3>
        <img className="qr" alt="QR code of the authenticator seed" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrollment.qrSvg)}`} />
        <p className="muted">
          Or enter this key by hand: <code data-testid="totp-secret">{enrollment.secret}</code>
        </p>
        <Field label="Code from the app" name="code" autoComplete="one-time-code" inputMode="numeric" required autoFocus />
        <ErrorNotice>{confirm.error ? describeGraphql(confirm.error) : ""}</ErrorNotice>
        <button type="submit" disabled={confirm.fetching}>
          Turn on
        </button>
      </form>
    );
  }
  return (
    <form className="card" onSubmit={onBegin} aria-label="Authenticator app">
      <h3>Authenticator app</h3>
      {done ? <Success>The authenticator app is on.</Success> : <p>Off.</p>}
      <CurrentCode needed={hasFactor} />
      <ErrorNotice>{begin.error ? describeGraphql(begin.error) : ""}</ErrorNotice>
      {!done ? (
        <button type="submit" disabled={begin.fetching}>
          Set up an authenticator app
        </button>
      ) : null}
    </form>
  );
}

interface PasskeyRow {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string | null;
}

function Passkeys({ passkeys, hasFactor, onCodes, onChanged }: FactorProps & { passkeys: PasskeyRow[] }) {
  const [start, doStart] = useMutation(StartPasskey);
  const [finish, doFinish] = useMutation(FinishPasskey);
  const [rename, doRename] = useMutation(RenamePasskey);
  const [del, doDelete] = useMutation(DeletePasskey);
  const [browserError, setBrowserError] = useState("");

  const onAdd = submitHandler(async (form, f) => {
    setBrowserError("");
    const started = await doStart({ secondFactor: text(f, "secondFactor").trim() || null });
    const ceremony = started.data?.startPasskeyRegistration as { ceremonyId: string; options: { publicKey: unknown } } | undefined;
    if (!ceremony) return;
    let credential: unknown;
    try {
      credential = await createCredential(ceremony.options);
    } catch {
      setBrowserError("The passkey was not created: the browser's prompt was cancelled or this device cannot make one.");
      return;
    }
    const r = await doFinish({ ceremonyId: ceremony.ceremonyId, name: text(f, "name").trim() || "Passkey", credential });
    if (r.data) {
      onCodes(r.data.finishPasskeyRegistration.recoveryCodes);
      form.reset();
      onChanged();
    }
  });

  const failure = start.error ?? finish.error ?? rename.error ?? del.error;
  return (
    <div className="card">
      <h3>Passkeys</h3>
      {passkeys.length === 0 ? <p>None yet.</p> : null}
      <ul className="passkeys">
        {passkeys.map((p) => (
          <li key={p.id}>
            <span>{p.name}</span>{" "}
            <span className="muted">{p.lastUsedAt ? `used ${new Date(p.lastUsedAt).toLocaleDateString()}` : "not used yet"}</span>{" "}
            <button
              type="button"
              className="link"
              onClick={() => {
                const name = window.prompt("New name", p.name);
                if (name?.trim()) void doRename({ id: p.id, name: name.trim() }).then(onChanged);
              }}
            >
              Rename
            </button>
            <button
              type="button"
              className="link danger"
              onClick={() => {
                if (window.confirm(`Delete the passkey “${p.name}”?`)) void doDelete({ id: p.id }).then(onChanged);
              }}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      <ErrorNotice>{failure ? describeGraphql(failure) : browserError}</ErrorNotice>
      {passkeysSupported() ? (
        <form onSubmit={onAdd} aria-label="Add a passkey">
          <Field label="Passkey name" name="name" placeholder="Work laptop" maxLength={100} />
          <CurrentCode needed={hasFactor} />
          <button type="submit" disabled={start.fetching || finish.fetching}>
            Add a passkey
          </button>
        </form>
      ) : (
        <p className="muted">This browser cannot create passkeys.</p>
      )}
    </div>
  );
}

function Recovery({ left, onCodes, onChanged }: { left: number; onCodes: (c: string[]) => void; onChanged: () => void }) {
  const [result, regenerate] = useMutation(RegenerateRecoveryCodes);
  const onSubmit = submitHandler(async (_form, f) => {
    const r = await regenerate({ secondFactor: text(f, "secondFactor").trim() || null });
    if (r.data) {
      onCodes(r.data.regenerateRecoveryCodes);
      onChanged();
    }
  });
  return (
    <form className="card" onSubmit={onSubmit} aria-label="Recovery codes">
      <h3>Recovery codes</h3>
      <p>{left} left.</p>
      <CurrentCode needed />
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button type="submit" className="secondary" disabled={result.fetching}>
        Make new recovery codes
      </button>
    </form>
  );
}
