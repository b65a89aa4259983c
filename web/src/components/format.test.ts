import { describe, expect, it } from "vitest";
import { fileSize, when } from "./format";

describe("format", () => {
  it("writes sizes in words", () => {
    expect(fileSize(512)).toBe("512 B");
    expect(fileSize(1536)).toBe("1.5 KB");
    expect(fileSize(25 * 1024 * 1024)).toBe("25 MB");
    expect(fileSize(null)).toBe("");
  });

  it("leaves a missing time empty", () => {
    expect(when(null)).toBe("");
    expect(when("2026-12-04T10:00:00Z")).not.toBe("");
  });
});
