/** The workspace of a `/w/<slug>/graphiql` path, or null for any other path. */
export function slugOf(path: string): string | null {
  const m = /^\/w\/([a-z][a-z0-9_]{2,39})\/graphiql\/?$/.exec(path);
  return m?.[1] ?? null;
}
