import type { SyntheticEvent } from "react";

/**
 * An `onSubmit` handler: stops the browser's own submission and runs `handler` with the
 * form and its data (errors are the handler's to show).
 */
export function submitHandler(handler: (form: HTMLFormElement, data: FormData) => Promise<void> | void) {
  return (e: SyntheticEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    void handler(form, new FormData(form));
  };
}

/** A text field's value ("" when missing or a file). */
export function text(data: FormData, name: string): string {
  const v = data.get(name);
  return typeof v === "string" ? v : "";
}
