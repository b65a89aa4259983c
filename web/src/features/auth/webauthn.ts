// Passkeys: the server speaks WebAuthn's JSON forms (base64url binary fields); the
// browser's own JSON helpers convert them (Chromium 129+, Safari 18.4+, Firefox 119+).

interface JsonCredentialStatics {
  parseRequestOptionsFromJSON(json: unknown): PublicKeyCredentialRequestOptions;
  parseCreationOptionsFromJSON(json: unknown): PublicKeyCredentialCreationOptions;
}

type WithPublicKey = { publicKey: unknown; mediation?: CredentialMediationRequirement };

function statics(): JsonCredentialStatics | null {
  const pkc = (window as unknown as { PublicKeyCredential?: Partial<JsonCredentialStatics> }).PublicKeyCredential;
  if (!pkc?.parseRequestOptionsFromJSON || !pkc.parseCreationOptionsFromJSON) return null;
  return pkc as JsonCredentialStatics;
}

export function passkeysSupported(): boolean {
  return statics() !== null;
}

function toJson(cred: Credential | null): unknown {
  if (!cred) throw new Error("no passkey was chosen");
  return (cred as PublicKeyCredential).toJSON();
}

/** Asks the browser for an assertion; `conditional` waits for the autofill choice. */
export async function getAssertion(options: WithPublicKey, signal?: AbortSignal, conditional = false) {
  const s = statics();
  if (!s) throw new Error("this browser cannot use passkeys");
  const publicKey = s.parseRequestOptionsFromJSON(options.publicKey);
  const req: CredentialRequestOptions = conditional
    ? { publicKey, mediation: "conditional" }
    : { publicKey };
  if (signal) req.signal = signal;
  return toJson(await navigator.credentials.get(req));
}

export async function createCredential(options: WithPublicKey) {
  const s = statics();
  if (!s) throw new Error("this browser cannot use passkeys");
  const publicKey = s.parseCreationOptionsFromJSON(options.publicKey);
  return toJson(await navigator.credentials.create({ publicKey }));
}

export async function conditionalMediationAvailable(): Promise<boolean> {
  const pkc = (window as unknown as { PublicKeyCredential?: { isConditionalMediationAvailable?: () => Promise<boolean> } })
    .PublicKeyCredential;
  return (await pkc?.isConditionalMediationAvailable?.()) ?? false;
}
