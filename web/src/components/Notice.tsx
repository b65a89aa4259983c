import type { ReactNode } from "react";

/** An error (announced to screen readers as it appears) or a confirmation. */
export function ErrorNotice({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p role="alert" className="notice error">
      {children}
    </p>
  );
}

export function Success({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice success">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" aria-live="polite" className="muted">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
