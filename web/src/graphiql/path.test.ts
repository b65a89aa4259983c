import { describe, expect, it } from "vitest";
import { slugOf } from "./path";

describe("GraphiQL's workspace", () => {
  it("comes from the page's path, and only a valid slug counts", () => {
    expect(slugOf("/w/acme/graphiql")).toBe("acme");
    expect(slugOf("/w/acme_legal/graphiql/")).toBe("acme_legal");
    expect(slugOf("/w/Acme/graphiql")).toBeNull();
    expect(slugOf("/w/acme/x/graphiql")).toBeNull();
    expect(slugOf("/w/a%2Fb/graphiql")).toBeNull();
  });
});
