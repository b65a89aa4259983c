import { describe, expect, it } from "vitest";
import { windowWords } from "./Retention";

describe("retention window", () => {
  it("is said in years when it is whole years, else in days", () => {
    expect(windowWords(2557)).toBe("7 years");
    expect(windowWords(365)).toBe("1 year");
    expect(windowWords(90)).toBe("90 days");
    expect(windowWords(400)).toBe("400 days");
  });
});
