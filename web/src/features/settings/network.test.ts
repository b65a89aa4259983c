import { describe, expect, it } from "vitest";
import { networksOf } from "./NetworkAccess";

describe("allowlist editor", () => {
  it("takes one network per line, also separated by commas or spaces, blanks dropped", () => {
    expect(networksOf("203.0.113.0/24\n\n 2001:db8::/32 ,10.0.0.1\r\n")).toEqual(["203.0.113.0/24", "2001:db8::/32", "10.0.0.1"]);
    expect(networksOf("   \n")).toEqual([]);
  });
});
