/** A byte count in words: 512 B, 1.2 MB. */
export function fileSize(bytes: number | null | undefined): string {
  if (bytes == null) return "";
  if (bytes < 1024) return `${String(bytes)} B`;
  const units = ["KB", "MB", "GB"];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u] ?? "GB"}`;
}

/** A timestamp in the reader's locale. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}
