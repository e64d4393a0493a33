#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests, on a free port on 127.0.0.1.
#
#   postgres.sh start DIR   create (once) and start a cluster in DIR; print its URL
#   postgres.sh stop DIR    stop it (fast shutdown: open connections are closed)
#   postgres.sh url DIR     print the URL again
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user on a
# folder that user owns. The superuser's password is checked (SCRAM) over TCP, as in production.
set -euo pipefail

command="${1:?usage: postgres.sh start|stop|url DIR}"
dir="${2:?usage: postgres.sh start|stop|url DIR}"
bin="${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"
password="latchkey-test"

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgres://postgres:${password}@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"
}

case "$command" in
start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir/data"
        printf '%s\n' "$password" >"$dir/pwfile"
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
            >"$dir/port"
        [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    port="$(cat "$dir/port")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=400 -c fsync=on" \
        start >/dev/null
    url
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    fi
    ;;
url)
    url
    ;;
*)
    echo "usage: postgres.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac
