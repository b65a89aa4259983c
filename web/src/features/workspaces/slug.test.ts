import { describe, expect, it } from "vitest";
import { SLUG_PATTERN, suggestSlug } from "./slug";

describe("suggestSlug", () => {
  it("turns a name into an address the server accepts", () => {
    expect(suggestSlug("Acme Légal & Co.")).toBe("acme_legal_co");
    expect(suggestSlug("42 Studios")).toBe("w_42_studios");
    expect(new RegExp(`^${SLUG_PATTERN}$`).test(suggestSlug("Acme Légal & Co."))).toBe(true);
  });
});
