#!/usr/bin/env bash
# The whole test suite (the README's test command). Works on a fresh machine: it uses
# TESSERA_TEST_ADMIN_URL or DATABASE_URL when given, else the local PostgreSQL on
# 127.0.0.1:5432 (starting the machine's cluster if it is stopped), else a throwaway
# cluster in a temporary directory that is removed afterwards. It installs the npm packages of
# the web console (web), the test OpenID provider (tests/oidc) and the test mail server
# (tests/mail) when they are missing, the test S3 server with Object Lock (moto) and the SCIM
# compliance checker (scim2-tester), both from PyPI into target/test-peers, Debian's Chromium for the browser tests (as root, with
# apt-get) when it is missing, and starts a throwaway Redis
# when none answers on 127.0.0.1:6379 (TESSERA_TEST_REDIS_URL overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }

pg_bin() {
  for d in $(command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)") /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

throwaway=""
redis_dir=""
pgbouncer_dir=""
citus_dir=""
cleanup() {
  [ -n "$citus_dir" ] && bash scripts/local-cluster.sh stop "$citus_dir"
  if [ -n "$pgbouncer_dir" ]; then
    [ -f "$pgbouncer_dir/pid" ] && kill "$(cat "$pgbouncer_dir/pid")" 2>/dev/null || true
    rm -rf "$pgbouncer_dir"
  fi
  if [ -n "$throwaway" ]; then
    as_pg "$(pg_bin)/pg_ctl" stop -D "$throwaway/data" -m immediate >/dev/null 2>&1 || true
    rm -rf "$throwaway"
  fi
  if [ -n "$redis_dir" ]; then
    [ -f "$redis_dir/pid" ] && kill "$(cat "$redis_dir/pid")" 2>/dev/null || true
    rm -rf "$redis_dir"
  fi
}
trap cleanup EXIT

ensure_postgres() {
  if [ -n "${TESSERA_TEST_ADMIN_URL:-}" ]; then return; fi
  if [ -n "${DATABASE_URL:-}" ]; then export TESSERA_TEST_ADMIN_URL="$DATABASE_URL"; return; fi
  local url="postgres://postgres@127.0.0.1:5432/postgres"
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
    log "starting the local PostgreSQL cluster"
    for v in /etc/postgresql/*; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null \
     && psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then
    export TESSERA_TEST_ADMIN_URL="$url"
    return
  fi
  local bin
  bin=$(pg_bin) || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }
  throwaway=$(mktemp -d)
  chmod 755 "$throwaway"
  [ "$(id -u)" = 0 ] && chown postgres "$throwaway"
  local port=55432
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  log "starting a throwaway PostgreSQL on port $port"
  as_pg "$bin/initdb" -D "$throwaway/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  as_pg "$bin/pg_ctl" start -D "$throwaway/data" -l "$throwaway/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c max_connections=300" >/dev/null
  export TESSERA_TEST_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

apt_install() {
  # Installs Debian package $1 when running as root with apt-get; else stops, saying what
  # needs it ($2).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $1 (apt-get install $1)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "$1 is required for $2: apt-get install $1" >&2
    exit 1
  fi
}

ensure_openssl() {
  # The database TLS test (tests/api/db_tls.rs) issues its certificates with the openssl command.
  command -v openssl >/dev/null 2>&1 || apt_install openssl "the database TLS test"
}

redis_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

ensure_redis() {
  # The shared rate-limit buckets are tested against a real Redis: TESSERA_TEST_REDIS_URL when
  # given, else one on 127.0.0.1:6379, else a throwaway redis-server on a free port.
  if [ -n "${TESSERA_TEST_REDIS_URL:-}" ]; then return; fi
  if redis_up 6379; then export TESSERA_TEST_REDIS_URL="redis://127.0.0.1:6379"; return; fi
  command -v redis-server >/dev/null 2>&1 || { echo "redis-server is required: apt-get install redis-server" >&2; exit 1; }
  redis_dir=$(mktemp -d)
  local port=56379
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  log "starting a throwaway Redis on port $port"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$redis_dir/pid" --dir "$redis_dir" --logfile "$redis_dir/log" >/dev/null
  for _ in $(seq 1 50); do redis_up "$port" && break; sleep 0.1; done
  redis_up "$port" || { echo "redis-server did not start" >&2; cat "$redis_dir/log" >&2; exit 1; }
  export TESSERA_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

ensure_oidc_provider() {
  # The OIDC tests run a real OpenID provider (npm oidc-provider, pinned by the lock file).
  command -v node >/dev/null 2>&1 || { echo "node (20+) and npm are required: apt-get install nodejs npm" >&2; exit 1; }
  if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
    log "installing the test OpenID provider (npm ci in tests/oidc)"
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_mail_server() {
  # The mail tests send through a real SMTP server (npm maildev, pinned by the lock file),
  # which the tests start on free loopback ports.
  if [ ! -d tests/mail/node_modules/maildev ]; then
    log "installing the test mail server (npm ci in tests/mail)"
    (cd tests/mail && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_scale() {
  # Citus 13.2.2 and PgBouncer 1.25.2, built from the sources in ../shared/scale (as root;
  # about two minutes once, nothing when installed).
  if grep -qs "default_version = '13.2-1'" /usr/share/postgresql/15/extension/citus.control \
     && /usr/local/bin/pgbouncer --version 2>/dev/null | grep -q 'PgBouncer 1.25'; then
    return
  fi
  local build=../shared/scale/build.sh
  [ -f "$build" ] || { echo "Citus and PgBouncer are not installed and $build is missing" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "Citus and PgBouncer are not installed: run 'sudo bash $build'" >&2; exit 1; }
  log "building Citus and PgBouncer (../shared/scale/build.sh)"
  bash "$build"
}

start_pgbouncer() {
  # PgBouncer in transaction mode with prepared statements in front of the test cluster;
  # any role the cluster knows may connect (trust, looked up through auth_query).
  local host port user
  read -r host port user < <(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432, p.username or "postgres")' "$TESSERA_TEST_ADMIN_URL")
  pgbouncer_dir=$(mktemp -d)
  local listen=56432
  while (echo >"/dev/tcp/127.0.0.1/$listen") 2>/dev/null; do listen=$((listen + 1)); done
  cat >"$pgbouncer_dir/pgbouncer.ini" <<INI
[databases]
* = host=$host port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir =
auth_type = trust
auth_file = $pgbouncer_dir/users.txt
auth_user = $user
admin_users = $user
pool_mode = transaction
max_prepared_statements = 200
max_client_conn = 1000
default_pool_size = 8
ignore_startup_parameters = extra_float_digits
logfile = $pgbouncer_dir/log
pidfile = $pgbouncer_dir/pid
INI
  printf '"%s" ""\n' "$user" >"$pgbouncer_dir/users.txt"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$pgbouncer_dir"
    runuser -u postgres -- /usr/local/bin/pgbouncer -d "$pgbouncer_dir/pgbouncer.ini"
  else
    /usr/local/bin/pgbouncer -d "$pgbouncer_dir/pgbouncer.ini"
  fi
  for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$listen") 2>/dev/null && break; sleep 0.1; done
  PGBOUNCER_ADDR="127.0.0.1:$listen"
  PGBOUNCER_ADMIN="postgres://$user@127.0.0.1:$listen/pgbouncer"
}

pgbouncer_pass() {
  # The isolation and identity suites once more, the runtime role connecting through
  # PgBouncer (LISTEN direct, as docs/scale-out.md says); then PgBouncer's own counters
  # must show the transactions went through it.
  log "isolation and identity tests through PgBouncer 1.25 (transaction mode, prepared statements)"
  TESSERA_TEST_PGBOUNCER="$PGBOUNCER_ADDR" cargo test --locked --test api -- \
    isolation:: authz:: entry:: sessions:: membership:: mfa:: passkeys:: invitations:: \
    mixed_versions:: live:: export:: hardening::
  local through
  through=$(psql "$PGBOUNCER_ADMIN" -AtX -F ' ' -c 'SHOW STATS' | awk '$1 ~ /^tt_/ { n += $3 } END { print n + 0 }')
  echo "PgBouncer carried $through transactions of the test databases"
  [ "$through" -gt 1000 ] || { echo "the PgBouncer pass did not go through PgBouncer" >&2; exit 1; }
}

start_citus() {
  # A Citus cluster on loopback ports: a coordinator and two workers
  # (scripts/local-cluster.sh), fsync off as the tests need no durability.
  citus_dir=$(mktemp -d)
  read -r CITUS_ADMIN_URL CITUS_WORKERS CITUS_POOLERS < <(TESSERA_CLUSTER_PG_OPTS="-c fsync=off" bash scripts/local-cluster.sh start "$citus_dir" citus)
  [ -n "$CITUS_POOLERS" ] || { echo "the Citus cluster did not start" >&2; exit 1; }
  log "Citus 13.2 cluster: coordinator $CITUS_ADMIN_URL, workers $CITUS_WORKERS through PgBouncer $CITUS_POOLERS"
}

citus_pass() {
  # The isolation suite on the cluster, workspaces distributed over the workers, with the
  # suites that write through every mutation, migrate distributed schemas and roll out.
  log "isolation tests on the Citus cluster (schema-based sharding)"
  # Compiled reads (one statement with correlated subqueries per root field) are compared
  # with the resolvers on the cluster too, with fewer generated queries.
  TESSERA_TEST_ADMIN_URL="$CITUS_ADMIN_URL" TESSERA_TEST_CITUS_WORKERS="$CITUS_WORKERS" \
    TESSERA_TEST_CITUS_POOLERS="$CITUS_POOLERS" TESSERA_PROPTEST_CASES=64 cargo test --locked --test api -- isolation:: citus:: authz:: invitations:: membership:: audit::every_mutation_of_the_schema_writes_an_audit_entry export_jobs:: \
    migrations:: mixed_versions:: provisioning:: webhooks:: scim::the_provider_manages scim_groups:: compiled_reads::
  # The coordinator reached the workers through their PgBouncers, not around them.
  local pooler through
  for pooler in ${CITUS_POOLERS//,/ }; do
    through=$(psql "postgres://postgres@$pooler/pgbouncer?sslmode=disable" -AtX -F ' ' -c 'SHOW STATS' | awk '$1 ~ /^tt_/ { n += $3 } END { print n + 0 }')
    echo "PgBouncer $pooler carried $through transactions of the test databases to its worker"
    [ "$through" -gt 100 ] || { echo "the coordinator did not reach worker $pooler through PgBouncer" >&2; exit 1; }
  done
}

ensure_moto() {
  # The audit anchors are tested against an S3 server that enforces Object Lock: moto's
  # server from PyPI, pinned by tests/s3/requirements.txt, in a virtualenv under target/.
  local venv=target/test-peers/moto
  if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s tests/s3/requirements.txt "$venv/requirements.txt"; then
    log "installing the test S3 server (moto, tests/s3/requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv" || { echo "python3 with venv is required: apt-get install python3-venv" >&2; exit 1; }
    "$venv/bin/pip" install -q --disable-pip-version-check -r tests/s3/requirements.txt
    cp tests/s3/requirements.txt "$venv/requirements.txt"
  fi
  export TESSERA_TEST_MOTO_SERVER="$PWD/$venv/bin/moto_server"
}

ensure_scim_tester() {
  # The SCIM service is checked by scim2-tester (PyPI), pinned by tests/scim/requirements.txt,
  # in a virtualenv under target/; tests/api/scim.rs runs tests/scim/check.py with it.
  local venv=target/test-peers/scim
  if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/scim/requirements.txt "$venv/requirements.txt"; then
    log "installing the SCIM compliance checker (scim2-tester, tests/scim/requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv" || { echo "python3 with venv is required: apt-get install python3-venv" >&2; exit 1; }
    "$venv/bin/pip" install -q --disable-pip-version-check -r tests/scim/requirements.txt
    cp tests/scim/requirements.txt "$venv/requirements.txt"
  fi
  export TESSERA_TEST_SCIM_PYTHON="$PWD/$venv/bin/python"
}

web_checks() {
  # The console: installed from its lock file; generated GraphQL types must match the schema
  # files; type check, lint and unit tests; the initial JavaScript against its budget.
  command -v node >/dev/null 2>&1 || { echo "node (20+) and npm are required: apt-get install nodejs npm" >&2; exit 1; }
  if [ ! -d web/node_modules ]; then
    log "installing the console's packages (npm ci in web)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  log "console: generated types fresh, type check, lint, unit tests, build budget"
  (cd web && npm run -s codegen >/dev/null)
  if ! git diff --quiet -- web/src/gql || [ -n "$(git ls-files --others --exclude-standard web/src/gql)" ]; then
    git --no-pager diff --stat -- web/src/gql
    echo "web/src/gql is stale: run 'npm run codegen' in web/ and commit the result" >&2
    exit 1
  fi
  (cd web && npm run -s typecheck && npm run -s lint && npm test --silent)
  local out
  out=$(mktemp -d)
  (cd web && TESSERA_CONSOLE_OUT="$out" npm run -s build -- --logLevel warn && node scripts/budget.mjs "$out")
  rm -rf "$out"
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium (no browser downloads).
  command -v chromium >/dev/null 2>&1 || apt_install chromium "the browser tests"
}

browser_tests() {
  # The console in a real browser against the binary the tests built (serve --demo with its
  # own PostgreSQL, MailDev as SMTP server).
  log "browser tests (Chromium via playwright-core)"
  (cd web && CHROMIUM="$(command -v chromium)" TESSERA_BIN="$PWD/../target/debug/tessera" npm run -s e2e)
}

bench_smoke() {
  # The bench command end to end at toy sizes: every scenario must finish, write its result
  # and see no failed request. The figures mean nothing here (debug build, seconds of load);
  # docs/benchmarks.md has the real runs.
  command -v pgbench >/dev/null 2>&1 || { echo "pgbench is required: apt-get install postgresql-client" >&2; exit 1; }
  cargo build --locked --bin bench
  rm -rf target/bench
  local b=target/debug/bench
  "$b" audit --entries 2000 --seconds 1
  "$b" export --records 2000
  "$b" api --seconds 1 --rounds 1 --concurrency 4
  "$b" tenants --tenants 11 --seconds 1 --rounds 1 --concurrency 4
  "$b" cluster --tenants 6 --seconds 1 --rounds 1 --concurrency 4 --records 2000
  for s in audit export api tenants cluster; do
    [ -s "target/bench/$s.json" ] || { echo "bench $s wrote no result" >&2; exit 1; }
  done
  if grep -ho '"errors": *[0-9]*' target/bench/*.json | grep -qv ': *0$'; then
    echo "a bench scenario had failed requests" >&2
    exit 1
  fi
}

log "cargo fmt --check"
cargo fmt --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
log "CI gates: advisories, licenses, migration lint, chart"
bash ci/gates.sh
web_checks
ensure_postgres
ensure_openssl
ensure_redis
ensure_oidc_provider
ensure_mail_server
ensure_moto
ensure_scim_tester
ensure_scale
ensure_chromium
log "tests against $TESSERA_TEST_ADMIN_URL"
cargo test --locked
start_pgbouncer
pgbouncer_pass
start_citus
citus_pass
browser_tests
log "bench smoke run (toy sizes)"
bench_smoke
