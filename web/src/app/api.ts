// The few account routes outside GraphQL (`/auth/*`): JSON in, JSON out, same origin.
// Errors have the GraphQL shape `{errors: [{message, extensions: {code}}]}`.

export interface ApiFailure {
  code: string;
  message: string;
  status: number;
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiFailure };

export async function postJson<T>(path: string, body: unknown): Promise<ApiResult<T>> {
  let resp: Response;
  try {
    resp = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, error: { code: "NETWORK", message: "", status: 0 } };
  }
  const json: unknown = await resp.json().catch(() => null);
  if (resp.ok) return { ok: true, data: json as T };
  return { ok: false, error: failureOf(json, resp.status) };
}

function failureOf(json: unknown, status: number): ApiFailure {
  const first = (json as { errors?: { message?: string; extensions?: { code?: string } }[] } | null)
    ?.errors?.[0];
  return {
    code: first?.extensions?.code ?? (status >= 500 ? "INTERNAL" : "BAD_REQUEST"),
    message: first?.message ?? "",
    status,
  };
}

/**
 * Sends `file` as the body of a POST to `path` (same origin, with the session cookie),
 * reporting upload progress from 0 to 1. `fetch` cannot report upload progress.
 */
export function uploadFile<T>(path: string, file: File, onProgress: (done: number) => void): Promise<ApiResult<T>> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => {
      resolve({ ok: false, error: { code: "NETWORK", message: "", status: 0 } });
    };
    xhr.onload = () => {
      let json: unknown = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        json = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ ok: true, data: json as T });
      else resolve({ ok: false, error: failureOf(json, xhr.status) });
    };
    xhr.send(file);
  });
}
