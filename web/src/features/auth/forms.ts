import { useState } from "react";
import { postJson, type ApiResult } from "../../app/api";
import { describeApi } from "../../app/errors";

/** A form's submission state: busy while posting, the error in plain words when it fails. */
export function useSubmit<T>() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  async function submit(path: string, body: unknown): Promise<ApiResult<T>> {
    setBusy(true);
    setError("");
    const r = await postJson<T>(path, body);
    setBusy(false);
    if (!r.ok) setError(describeApi(r.error));
    return r;
  }
  return { busy, error, setError, submit };
}

/** The token a mailed link carries in its fragment (never sent to the server in a URL). */
export function fragmentToken(): string {
  return decodeURIComponent(window.location.hash.replace(/^#/, "")).trim();
}

/** Where to go after signing in: a same-origin path given as `?next=`, else home. */
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
