#!/usr/bin/env bash
# A throwaway PostgreSQL server for the scale-out test (tests_scaleout/), from Debian's
# packages. Nothing secret: trust authentication, reachable only on 127.0.0.1.
#
#   scripts/pg_test_server.sh start DIR   initdb into DIR (created; new or empty), start
#                                         the server on a free port of 127.0.0.1, create
#                                         database optlab, print its storage URL
#   scripts/pg_test_server.sh stop DIR    shut that server down and remove DIR
#
# As root the server runs as the `postgres` user, so DIR must be somewhere that user can
# reach (under /tmp, say). Installs Debian's `postgresql` when no server is found.
# The URL goes to stdout (one line); everything else goes to stderr.
set -euo pipefail

MARK=.optlab_pg_test_server   # stop removes only a folder that start made
DB=optlab

usage() {
    echo "usage: $0 start|stop DIR (DIR: a new or empty folder, e.g. /tmp/pg)" >&2
    exit 2
}
die() { echo "pg_test_server: $*" >&2; exit 1; }
bad() { echo "pg_test_server: $*" >&2; exit 2; }   # a bad DIR

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case $2 in /*) dir=$2 ;; *) dir=$PWD/$2 ;; esac

pg_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
        bash "$(dirname "$0")/apt_install.sh" "pg_test_server: no PostgreSQL server" \
            postgresql || exit 1
        found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
        [ -n "$found" ] && [ -x "$found/initdb" ] || die "no initdb after the install"
    fi
    echo "$found"
}

# Run a server binary as the user that owns the cluster: `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start() {
    local bin port tries
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        bad "DIR $dir exists and is not empty: give a new or empty folder"
    fi
    bin=$(pg_bin)
    mkdir -p "$dir"
    touch "$dir/$MARK"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 \
            || die "user postgres is missing (Debian's package adds it)"
        chown postgres "$dir"
    fi
    if ! as_owner test -w "$dir" -a -x "$dir"; then
        rm -rf "$dir"
        bad "DIR $dir is not writable by the server's user (use a folder under /tmp)"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --no-sync \
        --auth-local=trust --auth-host=trust >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }
    # A free port can be taken between the check and the bind: try a few.
    for tries in 1 2 3 4 5; do
        port=$(free_port)
        # fsync off: a throwaway server, speed over crash safety.
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" \
            -o "-c synchronous_commit=off -c full_page_writes=off" start >&2; then
            echo "$port" >"$dir/port"
            as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB" >&2 \
                || { stop; die "createdb $DB failed"; }
            echo "postgresql+psycopg2://postgres@127.0.0.1:$port/$DB"
            return 0
        fi
        echo "pg_test_server: start on port $port failed (try $tries of 5)" >&2
    done
    tail -n 20 "$dir/server.log" >&2 || true
    rm -rf "$dir"
    die "the server did not start (log above)"
}

stop() {
    local bin
    if [ ! -e "$dir" ]; then
        echo "pg_test_server: $dir does not exist: nothing to stop" >&2
        return 0
    fi
    [ -f "$dir/$MARK" ] || bad "DIR $dir was not made by '$0 start': not removing it"
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(pg_bin)
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 \
            || echo "pg_test_server: pg_ctl stop failed; removing $dir anyway" >&2
    fi
    rm -rf "$dir"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
