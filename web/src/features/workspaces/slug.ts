/** A suggested address from a workspace's name: lowercase letters, digits and `_`. */
export function suggestSlug(name: string): string {
  let s = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40);
  if (s && !/^[a-z]/.test(s)) s = `w_${s}`.slice(0, 40);
  return s;
}

export const SLUG_PATTERN = "[a-z][a-z0-9_]{2,39}";
