import { describe, expect, it } from "vitest";
import { describe as describeCode } from "./errors";

describe("error codes in plain words", () => {
  it("explains a known code without the server's wording", () => {
    expect(describeCode("SLUG_TAKEN", "slug taken")).toMatch(/already has this address/);
  });

  it("keeps the server's detail for input errors", () => {
    expect(describeCode("BAD_USER_INPUT", "name must not be empty")).toBe("Name must not be empty");
  });

  it("falls back to the message for an unknown code", () => {
    expect(describeCode("SOMETHING_NEW", "a new failure")).toBe("A new failure");
    expect(describeCode("SOMETHING_NEW", "")).toBe("Something went wrong.");
  });
});
