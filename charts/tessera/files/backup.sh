#!/usr/bin/env bash
# Tessera backup: one folder per run under $TESSERA_BACKUP_DIR, named by its UTC time:
#   roles.sql              the database roles (pg_dumpall --roles-only, without passwords:
#                          those are the operator's secrets and are set again on restore)
#   database.dump          the whole database (pg_dump custom format): every workspace,
#                          the registry, the audit chains and their checkpoints
#   workspaces/<slug>.dump each active workspace's schema on its own (pg_dump -n), to
#                          recover one workspace's data next to the others
#   SHA256SUMS             checksums, checked by restore.sh
# Runs older than $TESSERA_BACKUP_KEEP_DAYS days (default 14) are removed after a run
# succeeded. The database URL (the migrator's, or a superuser's) comes from
# $TESSERA_BACKUP_DATABASE_URL or the file named by $TESSERA_BACKUP_DATABASE_URL_FILE.
# Anchors and receipts are not in the dump on purpose: they are the evidence a restore is
# checked against (docs/runbooks/restore.md).
set -euo pipefail

url="${TESSERA_BACKUP_DATABASE_URL:-}"
if [ -z "$url" ] && [ -n "${TESSERA_BACKUP_DATABASE_URL_FILE:-}" ]; then
  url=$(cat "$TESSERA_BACKUP_DATABASE_URL_FILE")
fi
[ -n "$url" ] || { echo "set TESSERA_BACKUP_DATABASE_URL or TESSERA_BACKUP_DATABASE_URL_FILE" >&2; exit 2; }
dir="${TESSERA_BACKUP_DIR:?set TESSERA_BACKUP_DIR}"
keep="${TESSERA_BACKUP_KEEP_DAYS:-14}"
case "$keep" in ''|*[!0-9]*) echo "TESSERA_BACKUP_KEEP_DAYS must be a number of days" >&2; exit 2;; esac

run="$dir/$(date -u +%Y%m%dT%H%M%SZ)"
part="$run.part"
mkdir -p "$part/workspaces"
trap 'rm -rf "$part"' EXIT

pg_dumpall --dbname="$url" --roles-only --no-role-passwords --file="$part/roles.sql"
pg_dump --dbname="$url" --format=custom --file="$part/database.dump"
psql "$url" -AtX -c "SELECT slug FROM public.tenants WHERE state = 'active' ORDER BY slug" |
  while read -r slug; do
    case "$slug" in ''|*[!a-z0-9_]*) echo "unexpected workspace slug: $slug" >&2; exit 1;; esac
    pg_dump --dbname="$url" --format=custom --schema="tenant_$slug" --file="$part/workspaces/$slug.dump"
  done
(cd "$part" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
mv "$part" "$run"
trap - EXIT
echo "backup written to $run"

# Retention: whole runs older than the window (never the one just written).
find "$dir" -mindepth 1 -maxdepth 1 -type d -name '20*Z' ! -path "$run" -mtime +"$keep" -print -exec rm -rf {} +
