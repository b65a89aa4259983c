import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "./graphiql.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { buildSchema } from "graphql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { socketUrl } from "../features/live/live";
import { slugOf } from "./path";
// The schema this console was built with, which is the binary's: GraphiQL needs no
// introspection query (deeper than the server's depth limit allows, and off where
// `limits.introspection` is false).
import sdl from "../../../schema/schema.graphql?raw";

// GraphiQL on `/w/<slug>/graphiql`, its own page (the server gives it a CSP that allows the
// editor's inline styles; scripts stay same-origin only). It calls the workspace's endpoint
// with the session cookie: every POST carries the Origin the server checks, which is the
// session's CSRF defence, and subscriptions go over the live-updates socket.

async function signedIn(): Promise<boolean> {
  const r = await fetch("/graphql", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: "{ me { id } }" }),
  }).catch(() => null);
  if (!r?.ok) return false;
  const body = (await r.json().catch(() => null)) as { data?: { me?: { id?: string } } } | null;
  return Boolean(body?.data?.me?.id);
}

async function start() {
  const root = document.getElementById("graphiql");
  if (!root) return;
  const slug = slugOf(window.location.pathname);
  if (!slug) {
    window.location.replace("/");
    return;
  }
  if (!(await signedIn())) {
    window.location.replace(`/signin?next=${encodeURIComponent(window.location.pathname)}`);
    return;
  }
  const fetcher = createGraphiQLFetcher({
    url: `/w/${slug}/graphql`,
    subscriptionUrl: socketUrl(slug, window.location),
    headers: { Accept: "application/json" },
  });
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} schema={buildSchema(sdl)} defaultQuery={`# Workspace ${slug}: your session's permissions apply.\n{\n  viewer {\n    role\n    permissions\n  }\n}\n`} />
    </StrictMode>,
  );
}

void start();
