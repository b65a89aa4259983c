/** Fields an audit entry changed, with both sides, for the entry's detail. */
export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * An entry's changes: the field versions it wrote (`changes: [{entity, changes: {field:
 * {old, new}}}]`, work items) or its `before`/`after` (membership and settings).
 */
export function payloadDiff(payload: unknown): FieldChange[] {
  if (!isObject(payload)) return [];
  const out: FieldChange[] = [];
  if (Array.isArray(payload["changes"])) {
    for (const version of payload["changes"]) {
      if (!isObject(version) || !isObject(version["changes"])) continue;
      const several = payload["changes"].length > 1;
      const prefix = several && typeof version["entity"] === "string" ? `${version["entity"]}.` : "";
      for (const [field, change] of Object.entries(version["changes"])) {
        const c = isObject(change) ? change : {};
        out.push({ field: prefix + field, before: show(c["old"]), after: show(c["new"]) });
      }
    }
  }
  const before = isObject(payload["before"]) ? payload["before"] : null;
  const after = isObject(payload["after"]) ? payload["after"] : null;
  if (before || after) {
    const b = before ?? {};
    const a = after ?? {};
    for (const field of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
      if (JSON.stringify(b[field]) !== JSON.stringify(a[field])) out.push({ field, before: show(b[field]), after: show(a[field]) });
    }
  }
  return out;
}
