#!/usr/bin/env bash
# Restores a Tessera backup (charts/tessera/files/backup.sh) into a PostgreSQL cluster.
#   restore.sh <backup folder> <superuser URL of the target cluster>
# Checks the checksums, creates the roles (existing ones are left as they are), then creates
# the database from the dump. Afterwards: set the app and migrator passwords from your
# secrets, run `tessera audit verify` (it reports the restore against the anchors) and
# `tessera audit restored --reason ...` before starting the server (docs/runbooks/restore.md).
set -euo pipefail
src="${1:?usage: restore.sh <backup folder> <superuser URL of the target cluster>}"
target="${2:?usage: restore.sh <backup folder> <superuser URL of the target cluster>}"

(cd "$src" && sha256sum --check --quiet SHA256SUMS) || { echo "the backup's checksums do not match" >&2; exit 1; }
# Roles first; "already exists" (postgres, or roles kept from before) is expected.
psql "$target" -qX -v ON_ERROR_STOP=0 -f "$src/roles.sql" 2>&1 | grep -v 'already exists' >&2 || true
pg_restore --dbname="$target" --create --exit-on-error "$src/database.dump"
echo "restored $(pg_restore --list "$src/database.dump" | sed -n 's/^;[[:space:]]*dbname: //p') from $src"
