import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";

afterEach(cleanup);
import { ErrorNotice } from "./Notice";

describe("ErrorNotice", () => {
  it("announces an error as an alert", () => {
    render(<ErrorNotice>Too many attempts.</ErrorNotice>);
    expect(screen.getByRole("alert").textContent).toBe("Too many attempts.");
  });

  it("renders nothing without a message", () => {
    const { container } = render(<ErrorNotice>{""}</ErrorNotice>);
    expect(container.innerHTML).toBe("");
  });

  it("shows markup in a message as text", () => {
    render(<ErrorNotice>{"<img src=x onerror=alert(1)>"}</ErrorNotice>);
    expect(screen.getByRole("alert").querySelector("img")).toBeNull();
    expect(screen.getByRole("alert").textContent).toBe("<img src=x onerror=alert(1)>");
  });
});
