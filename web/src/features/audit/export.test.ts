import { describe, expect, it } from "vitest";
import { auditExportUrl } from "./Audit";

describe("audit export link", () => {
  it("carries the range and the actions of the filters", () => {
    const url = new URL(
      auditExportUrl("acme", { from: "2026-12-01T00:00:00.000Z", to: null, actions: ["updateRecord", "removeMember"] }, "csv"),
      "https://t.example",
    );
    expect(url.pathname).toBe("/w/acme/audit/export");
    expect(url.searchParams.get("format")).toBe("csv");
    expect(url.searchParams.get("from")).toBe("2026-12-01T00:00:00.000Z");
    expect(url.searchParams.has("to")).toBe(false);
    expect(url.searchParams.get("action")).toBe("updateRecord,removeMember");
  });
});
