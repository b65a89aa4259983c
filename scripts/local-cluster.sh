#!/usr/bin/env bash
# Throwaway PostgreSQL nodes on loopback ports, for the tests and `bench cluster`.
#
#   scripts/local-cluster.sh start DIR citus   a Citus coordinator and two workers
#   scripts/local-cluster.sh start DIR single  one plain PostgreSQL node, same settings
#   scripts/local-cluster.sh stop DIR          stops the nodes and removes DIR
#
# `start` prints one line: the admin URL of the coordinator (or the node), the workers as
# `host:port,host:port` and, in the same order, the PgBouncer in front of each worker
# (`-` for both on a single node). Every node is an initdb cluster in DIR with
# trust authentication on 127.0.0.1, `wal_level = logical` (Citus moves schemas by logical
# replication) and the extra server options of TESSERA_CLUSTER_PG_OPTS (the tests pass
# `-c fsync=off`). The nodes take the first free ports from TESSERA_CLUSTER_BASE_PORT
# (default 25700, below Linux's ephemeral range, so that the client sockets of a busy test
# run do not hold them). Citus turns on TLS between its nodes; clients ask for none
# (`sslmode=disable` in the URL). Run as root, it runs PostgreSQL as the `postgres` user.
#
# Each worker gets a PgBouncer (transaction mode) for the coordinator to reach it through,
# registered per database in `pg_dist_poolinfo` (db::citus::prepare_database): Citus keeps a
# connection per coordinator backend, worker and role, and with a role per workspace a worker's
# sessions would grow with the workspaces; PgBouncer holds them to
# TESSERA_CLUSTER_WORKER_SESSIONS (default 40) server sessions per database, closing other
# roles' idle ones when it needs a place (docs/scale-out.md, Connections to the workers).
# Citus insists on TLS, so each PgBouncer has a throwaway self-signed certificate.
set -euo pipefail

pg_bin() {
  for d in $(command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)") /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2
  return 1
}

# Open files up to the hard limit (runuser starts from the PAM defaults): a Citus coordinator's
# backend holds a connection per worker and workspace role it serves, as a service manager's
# LimitNOFILE would allow.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- bash -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' as_pg "$@"
  else
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    "$@"
  fi
}

# A PgBouncer in front of the worker on $2, listening on $3, its files in $1.
start_pooler() {
  local dir=$1 node_port=$2 port=$3
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$node_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
auth_user = postgres
admin_users = postgres
pool_mode = transaction
max_client_conn = 15000
default_pool_size = ${TESSERA_CLUSTER_WORKER_SESSIONS:-40}
max_db_connections = ${TESSERA_CLUSTER_WORKER_SESSIONS:-40}
server_idle_timeout = 60
client_tls_sslmode = allow
client_tls_key_file = $dir/key.pem
client_tls_cert_file = $dir/cert.pem
logfile = $dir/log
pidfile = $dir/pid
INI
  printf '"postgres" ""\n' >"$dir/users.txt"
  [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
  as_pg /usr/local/bin/pgbouncer -d "$dir/pgbouncer.ini"
  for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "PgBouncer did not start: $(cat "$dir/log" 2>/dev/null)" >&2
  return 1
}

free_port() {
  local port=$1
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# Starts the node in $2 on the first port from $3 it can bind, and prints that port. A port
# nobody listens on may still be held by a client socket; the nodes start below the kernel's
# ephemeral range (ip_local_port_range) where that is rare, and a refused bind moves on.
start_node() {
  local bin=$1 data=$2 port=$3 opts=$4 try
  for try in 1 2 3 4 5; do
    port=$(free_port "$port")
    if as_pg "$bin/pg_ctl" start -D "$data" -l "$data.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' $opts" >/dev/null 2>&1; then
      echo "$port"
      return 0
    fi
    grep -q 'could not bind\|could not create any TCP/IP sockets' "$data.log" || break
    echo "port $port is held by another socket; trying the next" >&2
    port=$((port + 1))
  done
  echo "PostgreSQL did not start in $data; its log ends:" >&2
  tail -n 20 "$data.log" >&2
  return 1
}

start() {
  local dir=$1 mode=$2 bin port preload="" names=() ports=()
  case "$mode" in
    # No Citus throttle of the connections to each worker: it counts the cached connections
    # per workspace role to PgBouncer, which are idle and cheap, and backends waiting for a
    # slot while others keep theirs cached never get one. PgBouncer bounds the workers.
    citus) names=(coordinator worker1 worker2); preload="-c shared_preload_libraries=citus -c citus.max_shared_pool_size=-1" ;;
    single) names=(node) ;;
    *) echo "mode must be citus or single, not '$mode'" >&2; exit 2 ;;
  esac
  bin=$(pg_bin)
  mkdir -p "$dir"
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=${TESSERA_CLUSTER_BASE_PORT:-25700}
  for node in "${names[@]}"; do
    as_pg "$bin/initdb" -D "$dir/$node" -U postgres -A trust -E UTF8 --locale=C >/dev/null
    port=$(start_node "$bin" "$dir/$node" "$port" "$preload -c max_connections=300 -c wal_level=logical -c max_prepared_transactions=100 ${TESSERA_CLUSTER_PG_OPTS:-}")
    ports+=("$port")
    if [ "$mode" = citus ]; then
      # In the `postgres` database, so that roles created there reach every node.
      psql "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" -qAtX -c "CREATE EXTENSION citus" >/dev/null
    fi
    port=$((port + 1))
  done
  local admin="postgres://postgres@127.0.0.1:${ports[0]}/postgres?sslmode=disable"
  if [ "$mode" = citus ]; then
    psql "$admin" -qAtX \
      -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" \
      -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
      -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
    local poolers=() i
    for i in 1 2; do
      port=$(free_port "$port")
      start_pooler "$dir/pooler$i" "${ports[$i]}" "$port"
      poolers+=("127.0.0.1:$port")
      port=$((port + 1))
    done
    echo "$admin 127.0.0.1:${ports[1]},127.0.0.1:${ports[2]} ${poolers[0]},${poolers[1]}"
  else
    echo "$admin - -"
  fi
}

stop() {
  local dir=$1 bin pid
  bin=$(pg_bin)
  for pid in "$dir"/pooler*/pid; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  for node in "$dir"/*/; do
    [ -f "$node/PG_VERSION" ] && as_pg "$bin/pg_ctl" stop -D "$node" -m immediate >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR citus|single" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 start DIR citus|single | stop DIR" >&2; exit 2 ;;
esac
