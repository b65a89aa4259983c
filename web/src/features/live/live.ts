import { createClient, type Client as SocketClient } from "graphql-ws";
import { makeOperation, subscriptionExchange, type Client, type Exchange, type Operation } from "urql";
import { pipe, tap } from "wonka";

// Live updates: one WebSocket per workspace (`/w/<slug>/graphql/ws`, graphql-transport-ws),
// authenticated by the session cookie the browser sends with the upgrade. A change
// announcement carries identifiers only; the console refetches the queries on screen.

export type LiveStatus = { state: "connecting" | "live" | "retrying" } | { state: "stopped"; reason: string };

/** The WebSocket URL of a workspace, on this page's origin. */
export function socketUrl(slug: string, location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/w/${encodeURIComponent(slug)}/graphql/ws`;
}

/** Close codes after which reconnecting cannot help: refused credentials, too many connections. */
export function isFinal(code: number): boolean {
  return code === 4403 || code === 4429 || code === 4400;
}

/** Why the server closed the socket, in words a person can act on. */
export function describeClose(code: number, reason: string): string {
  if (code === 4429) return "Live updates are off: you have too many tabs open on this workspace.";
  if (code === 4403) {
    if (reason.startsWith("UNAUTHENTICATED")) return "Live updates stopped: your session ended. Sign in again.";
    return "Live updates stopped: you no longer have access to this workspace.";
  }
  return "Live updates are off.";
}

/** What one workspace client needs for live updates. */
export interface Live {
  /** Goes first: remembers the queries on screen. */
  track: Exchange;
  /** Goes before the fetch exchange: subscriptions over the socket. */
  subscriptions: Exchange;
  /** Refetches every query on screen (soon, once for a burst of changes). */
  refresh: (client: Client) => void;
  status: () => LiveStatus;
  onStatus: (listener: () => void) => () => void;
}

export function makeLive(url: string): Live {
  let status: LiveStatus = { state: "connecting" };
  const listeners = new Set<() => void>();
  const setStatus = (s: LiveStatus) => {
    status = s;
    listeners.forEach((l) => {
      l();
    });
  };
  const socket: SocketClient = createClient({
    url,
    lazy: true,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: (e) => !(e instanceof CloseEvent && isFinal(e.code)),
    on: {
      connected: () => {
        setStatus({ state: "live" });
      },
      closed: (e) => {
        if (e instanceof CloseEvent && isFinal(e.code)) setStatus({ state: "stopped", reason: describeClose(e.code, e.reason) });
        else if (status.state !== "stopped") setStatus({ state: "retrying" });
      },
    },
  });
  const active = new Map<number, Operation>();
  const track: Exchange =
    ({ forward }) =>
    (ops$) =>
      forward(
        pipe(
          ops$,
          tap((op) => {
            if (op.kind === "query") active.set(op.key, op);
            else if (op.kind === "teardown") active.delete(op.key);
          }),
        ),
      );
  const subscriptions = subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink) }),
    }),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    track,
    subscriptions,
    refresh: (client) => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        for (const op of active.values()) {
          client.reexecuteOperation(makeOperation(op.kind, op, { ...op.context, requestPolicy: "network-only" }));
        }
      }, 100);
    },
    status: () => status,
    onStatus: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
