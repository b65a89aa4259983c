import { describe, expect, it } from "vitest";
import { describeClose, isFinal, socketUrl } from "./live";

describe("live updates", () => {
  it("opens the socket on the page's origin, secure behind TLS", () => {
    expect(socketUrl("acme", { protocol: "https:", host: "tessera.example" })).toBe("wss://tessera.example/w/acme/graphql/ws");
    expect(socketUrl("acme", { protocol: "http:", host: "localhost:8080" })).toBe("ws://localhost:8080/w/acme/graphql/ws");
  });

  it("stops retrying when the server refuses the credentials or the connection count", () => {
    expect(isFinal(4403)).toBe(true);
    expect(isFinal(4429)).toBe(true);
    expect(isFinal(1006)).toBe(false);
    expect(isFinal(4408)).toBe(false);
  });

  it("explains why live updates stopped", () => {
    expect(describeClose(4403, "UNAUTHENTICATED: sign in")).toMatch(/session ended/);
    expect(describeClose(4403, "FORBIDDEN: removed")).toMatch(/no longer have access/);
    expect(describeClose(4429, "RATE_LIMITED: too many")).toMatch(/too many tabs/);
  });
});
