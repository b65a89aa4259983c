import { Client, cacheExchange, fetchExchange } from "urql";

// One client per endpoint: the account (`/graphql`) and each workspace
// (`/w/<slug>/graphql`). The session cookie authenticates; writes are JSON POSTs, which
// carry the Origin the server checks.
export function makeClient(url: string): Client {
  return new Client({
    url,
    exchanges: [cacheExchange, fetchExchange],
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    fetchOptions: { credentials: "same-origin", headers: { Accept: "application/json" } },
  });
}

export const accountClient = makeClient("/graphql");

const workspaceClients = new Map<string, Client>();

export function workspaceClient(slug: string): Client {
  let c = workspaceClients.get(slug);
  if (!c) {
    c = makeClient(`/w/${encodeURIComponent(slug)}/graphql`);
    workspaceClients.set(slug, c);
  }
  return c;
}
