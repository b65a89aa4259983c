import { useState } from "react";

/** Cursor paging: forward with the page's end cursor, back through the cursors seen. */
export function usePager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const after = stack[stack.length - 1] ?? null;
  return {
    after,
    page: stack.length,
    next: (cursor: string | null | undefined) => cursor && setStack((s) => [...s, cursor]),
    back: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}

export function Pager({
  pager,
  hasNext,
  endCursor,
}: {
  pager: ReturnType<typeof usePager>;
  hasNext: boolean;
  endCursor: string | null | undefined;
}) {
  if (pager.page === 1 && !hasNext) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="secondary" onClick={pager.back} disabled={pager.page === 1}>
        Previous
      </button>
      <span className="muted">Page {pager.page}</span>
      <button type="button" className="secondary" onClick={() => pager.next(endCursor)} disabled={!hasNext}>
        Next
      </button>
    </nav>
  );
}
