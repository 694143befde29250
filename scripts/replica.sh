#!/usr/bin/env bash
# A streaming-replication hot standby of the local PostgreSQL, for tests and benchmarks of
# LISENS_REPLICA_URL (docs/deploy.md).
#
#   bash scripts/replica.sh start    # make it (pg_basebackup -R) and start it; prints the replica URL
#   bash scripts/replica.sh status   # running or not; prints the replica URL when running
#   bash scripts/replica.sh stop     # stop it and remove its data directory
#
# Every command may be run again: `start` on a running standby only prints its URL, `stop` on a
# stopped one does nothing. Messages go to stderr, the URL (the last line) to stdout.
#
# Environment: LISENS_REPLICA_PORT (5433), LISENS_REPLICA_DIR (/tmp/lisens-replica-PORT),
# LISENS_REPLICA_DATABASE (the database named in the printed URL; postgres), LISENS_PRIMARY_HOST
# (127.0.0.1), LISENS_PRIMARY_PORT (5432), LISENS_PRIMARY_USER (postgres), PG_BIN (the programs of
# the primary's major version: /usr/lib/postgresql/MAJOR/bin). The primary must let its user connect without a password (trust).
#
# The only change it may make to the primary: when the primary refuses replication connections
# from 127.0.0.1, a line `host replication <user> 127.0.0.1/32 trust` is appended to its
# pg_hba.conf and the configuration reloaded (not restarted). It says so when it does.
set -euo pipefail

PORT="${LISENS_REPLICA_PORT:-5433}"
DIR="${LISENS_REPLICA_DIR:-/tmp/lisens-replica-$PORT}"
DATABASE="${LISENS_REPLICA_DATABASE:-postgres}"
PRIMARY_HOST="${LISENS_PRIMARY_HOST:-127.0.0.1}"
PRIMARY_PORT="${LISENS_PRIMARY_PORT:-5432}"
PRIMARY_USER="${LISENS_PRIMARY_USER:-postgres}"
# The programs of the primary's major version (Debian's layout), unless PG_BIN says where they are.
if [ -z "${PG_BIN:-}" ]; then
    major="$(psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres -XAtqc \
        "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null || true)"
    if [ -n "$major" ] && [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
        PG_BIN="/usr/lib/postgresql/$major/bin"
    elif command -v pg_ctl >/dev/null 2>&1; then
        PG_BIN="$(dirname "$(command -v pg_ctl)")"
    else
        PG_BIN=/usr/lib/postgresql/15/bin
    fi
fi
URL="postgresql+psycopg://$PRIMARY_USER@127.0.0.1:$PORT/$DATABASE"

say() { echo "replica: $*" >&2; }

# The PostgreSQL programs refuse to run as root: run them as the postgres OS user then.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

primary_sql() {
    "$PG_BIN/psql" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres -XAtqc "$1"
}

running() {
    [ -f "$DIR/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1
}

allow_replication() {
    local probe="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$PRIMARY_USER replication=true dbname=replication"
    if "$PG_BIN/psql" "$probe" -XAtqc "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
        return
    fi
    local hba line="host replication $PRIMARY_USER 127.0.0.1/32 trust"
    hba="$(primary_sql "SHOW hba_file")"
    if ! grep -qxF "$line" "$hba"; then
        printf '\n# Replication from this machine (a hot standby made by Lisens scripts/replica.sh)\n%s\n' "$line" >>"$hba"
        say "changed the primary: added '$line' to $hba"
    fi
    primary_sql "SELECT pg_reload_conf()" >/dev/null
    say "changed the primary: reloaded its configuration (no restart)"
    sleep 0.5
    if ! "$PG_BIN/psql" "$probe" -XAtqc "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
        say "the primary still refuses replication connections from 127.0.0.1; see $hba"
        exit 1
    fi
}

setting() { primary_sql "SHOW $1"; }

make_standby() {
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    say "copying the primary at $PRIMARY_HOST:$PRIMARY_PORT into $DIR (pg_basebackup -R)"
    as_postgres "$PG_BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -D "$DIR" \
        -R -X stream -c fast --no-password
    # A packaged primary keeps its configuration outside the data directory (/etc/postgresql):
    # the standby gets its own. Limits a standby must not have below the primary's are copied.
    cat >"$DIR/postgresql.conf" <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
hot_standby = on
hba_file = '$DIR/pg_hba.conf'
ident_file = '$DIR/pg_ident.conf'
max_connections = $(setting max_connections)
max_worker_processes = $(setting max_worker_processes)
max_wal_senders = $(setting max_wal_senders)
max_prepared_transactions = $(setting max_prepared_transactions)
max_locks_per_transaction = $(setting max_locks_per_transaction)
shared_buffers = 32MB
autovacuum = off
logging_collector = off
EOF
    cat >"$DIR/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
    : >"$DIR/pg_ident.conf"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR/postgresql.conf" "$DIR/pg_hba.conf" "$DIR/pg_ident.conf"
    # The standby connects to the primary with the conninfo pg_basebackup -R wrote.
    [ -f "$DIR/standby.signal" ] || { say "pg_basebackup wrote no standby.signal"; exit 1; }
}

start() {
    if running; then
        say "running on 127.0.0.1:$PORT ($DIR)"
        echo "$URL"
        return
    fi
    if [ -f "$DIR/standby.signal" ] && [ -f "$DIR/postgresql.conf" ]; then
        say "starting the standby kept in $DIR"
    else
        allow_replication
        make_standby
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null
    for _ in $(seq 1 100); do
        if [ "$("$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$PRIMARY_USER" -d postgres -XAtqc \
            "SELECT pg_is_in_recovery()" 2>/dev/null)" = "t" ]; then
            say "hot standby of $PRIMARY_HOST:$PRIMARY_PORT running on 127.0.0.1:$PORT ($DIR)"
            echo "$URL"
            return
        fi
        sleep 0.1
    done
    say "the standby did not accept read-only connections; its log: $DIR/server.log"
    tail -20 "$DIR/server.log" >&2 || true
    exit 1
}

stop() {
    if running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$DIR" -m fast -w -t 60 stop >/dev/null
        say "stopped the standby on 127.0.0.1:$PORT"
    fi
    if [ -e "$DIR" ]; then
        rm -rf "$DIR"
        say "removed $DIR"
    fi
}

status() {
    if running; then
        local lag
        lag="$("$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$PRIMARY_USER" -d postgres -XAtqc \
            "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::text, 'unknown')")"
        say "running on 127.0.0.1:$PORT ($DIR); seconds since the last replayed transaction: $lag"
        echo "$URL"
    else
        say "not running (port $PORT)"
        exit 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
