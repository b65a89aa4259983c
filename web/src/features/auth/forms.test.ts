import { describe, expect, it } from "vitest";
import { nextPath } from "./forms";

describe("nextPath", () => {
  it("follows a same-origin path", () => {
    expect(nextPath("?next=/w/acme/members")).toBe("/w/acme/members");
  });

  it("refuses to send the browser elsewhere", () => {
    expect(nextPath("?next=https://evil.example/")).toBe("/");
    expect(nextPath("?next=//evil.example/")).toBe("/");
    expect(nextPath("")).toBe("/");
  });
});
