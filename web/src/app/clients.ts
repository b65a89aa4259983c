import { Client, cacheExchange, fetchExchange } from "urql";
import { makeLive, socketUrl, type Live } from "../features/live/live";

// One client per endpoint: the account (`/graphql`) and each workspace
// (`/w/<slug>/graphql`, plus its live-updates socket). The session cookie authenticates;
// writes are JSON POSTs, which carry the Origin the server checks.
export function makeClient(url: string, live?: Live): Client {
  return new Client({
    url,
    exchanges: live ? [live.track, cacheExchange, live.subscriptions, fetchExchange] : [cacheExchange, fetchExchange],
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    fetchOptions: { credentials: "same-origin", headers: { Accept: "application/json" } },
  });
}

export const accountClient = makeClient("/graphql");

const workspaces = new Map<string, { client: Client; live: Live }>();

export function workspaceClient(slug: string): { client: Client; live: Live } {
  let w = workspaces.get(slug);
  if (!w) {
    const live = makeLive(socketUrl(slug, window.location));
    w = { client: makeClient(`/w/${encodeURIComponent(slug)}/graphql`, live), live };
    workspaces.set(slug, w);
  }
  return w;
}
