#!/usr/bin/env bash
# Makes sure a Postgres server answers, and prints the environment to use it:
#   eval "$(scripts/services.sh)"
# If IVSBATCH_PG_ADMIN_URL (default: trust auth on 127.0.0.1:5432, user
# postgres) answers, it is used as it is. Otherwise a private cluster with
# trust auth is created under .run/pg and started on 5432, or on a free port
# when 5432 is taken; it keeps running for the next commands (stop it with
# pg_ctl -D .run/pg/data stop).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ADMIN_URL=${IVSBATCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

answers() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! answers "$ADMIN_URL"; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$bin" ] || { echo "services: no Postgres server installed (run scripts/deps.sh)" >&2; exit 1; }
  data=$ROOT/.run/pg/data
  as=()
  if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
  mkdir -p "$ROOT/.run/pg"
  [ "$(id -u)" -ne 0 ] || chown postgres "$ROOT/.run/pg"
  if [ ! -s "$data/PG_VERSION" ]; then
    "${as[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 >"$ROOT/.run/pg/initdb.log"
  fi
  if "${as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port=$(cat "$ROOT/.run/pg/port")
  else
    port=5432
    if port_open "$port"; then
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    fi
    echo "$port" >"$ROOT/.run/pg/port"
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$ROOT/.run/pg/server.log" -w \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
  fi
  ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  answers "$ADMIN_URL" || { echo "services: Postgres did not come up (see .run/pg/server.log)" >&2; exit 1; }
  echo "services: private Postgres on :$port" >&2
fi
echo "export IVSBATCH_PG_ADMIN_URL='$ADMIN_URL'"
if [ -z "${IVSBATCH_DATABASE_URL:-}" ]; then
  echo "export IVSBATCH_DATABASE_URL='${ADMIN_URL%%/postgres\?*}/ivsbatch?sslmode=disable'"
fi
