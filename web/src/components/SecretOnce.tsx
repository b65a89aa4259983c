/** A secret shown this once (an API token, a webhook signing secret), with a copy button. */
export function SecretOnce({ what, secret, testId }: { what: string; secret: string; testId: string }) {
  if (!secret) return null;
  return (
    <div className="secret" role="status">
      <p>
        <strong>Copy this {what} now.</strong> It is shown once; Tessera does not show it again.
      </p>
      <code data-testid={testId}>{secret}</code>
      <button type="button" className="secondary" onClick={() => void navigator.clipboard.writeText(secret)}>
        Copy
      </button>
    </div>
  );
}
