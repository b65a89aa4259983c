import { describe, expect, it } from "vitest";
import { payloadDiff } from "./diff";

describe("payloadDiff", () => {
  it("reads the field versions a change wrote", () => {
    const payload = {
      arguments: { id: "r1" },
      changes: [{ entity: "record", id: "r1", version: 2, changes: { title: { old: "a", new: "b" } } }],
    };
    expect(payloadDiff(payload)).toEqual([{ field: "title", before: "a", after: "b" }]);
  });

  it("reads before and after, listing only what differs", () => {
    expect(payloadDiff({ before: { role: "member", teams: [] }, after: { role: "admin", teams: [] } })).toEqual([
      { field: "role", before: "member", after: "admin" },
    ]);
    expect(payloadDiff({ after: { title: "new" } })).toEqual([{ field: "title", before: "—", after: "new" }]);
  });

  it("copes with payloads of any other shape", () => {
    expect(payloadDiff(null)).toEqual([]);
    expect(payloadDiff("text")).toEqual([]);
    expect(payloadDiff({ changes: "x", before: 3 })).toEqual([]);
  });
});
