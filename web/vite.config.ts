import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The console is served by the Tessera binary, which embeds `dist/` (see build.rs). In
// development, `npm run dev` proxies the API to a server on :8080.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.TESSERA_CONSOLE_OUT ?? "dist",
    emptyOutDir: true,
    // Hashed names under /assets/ are cached for a year; index.html never is.
    assetsDir: "assets",
    sourcemap: false,
    // No inline script or style may be needed: the CSP forbids both.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
    // GraphiQL's editor (Monaco) is one 2.8 MB chunk, loaded only by its own page; the
    // console's initial JavaScript is measured by scripts/budget.mjs.
    chunkSizeWarningLimit: 3000,
    // Two pages: the console, and GraphiQL (loaded only on /w/<slug>/graphiql).
    rolldownOptions: {
      input: { main: "index.html", graphiql: "graphiql.html" },
      // GraphiQL's modules carry React Compiler directives the bundler drops, harmlessly.
      onLog(level, log, handler) {
        if (log.code !== "MODULE_LEVEL_DIRECTIVE") handler(level, log);
      },
    },
  },
  server: {
    proxy: {
      "^/(graphql|auth|w/[^/]+/(graphql|attachments|export|exports)|blobs)": {
        target: "http://localhost:8080",
        ws: true,
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
