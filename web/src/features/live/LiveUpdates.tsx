import { useSyncExternalStore } from "react";
import { useClient, useSubscription } from "urql";
import type { Live, LiveStatus } from "./live";
import { WorkspaceChanged } from "./queries.tenant";

/** Keeps the workspace's pages current, and says whether they are. */
export function LiveUpdates({ live }: { live: Live }) {
  const client = useClient();
  useSubscription({ query: WorkspaceChanged }, (_previous: unknown, data) => {
    live.refresh(client);
    return data;
  });
  const status = useSyncExternalStore(live.onStatus, live.status);
  const text = describe(status);
  return (
    <p className={`live live-${status.state}`} role="status" aria-live="polite">
      {text}
    </p>
  );
}

function describe(status: LiveStatus): string {
  switch (status.state) {
    case "live":
      return "Live";
    case "connecting":
      return "Connecting…";
    case "retrying":
      return "Reconnecting…";
    case "stopped":
      return status.reason;
  }
}
