# Sourced by .ci/run: a throwaway PostgreSQL cluster for the journal tests.
#   start_test_postgres   initdb into a fresh directory owned by `nobody` (PostgreSQL refuses to run as
#                         root), start it on 127.0.0.1 at a free port and a private Unix socket directory,
#                         trust auth, and export CAPSULE_TEST_POSTGRES_URL
#   stop_test_postgres    stop it and remove the directory (safe to call twice, or when it never started)

test_postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

start_test_postgres() {
  local bin port
  bin="$(test_postgres_bin)" || { echo "no PostgreSQL server binaries (apt-get install postgresql)" >&2; return 1; }
  test_postgres_dir="$(mktemp -d /tmp/capsule-pg.XXXXXX)"
  chown nobody:nogroup "$test_postgres_dir"
  chmod 700 "$test_postgres_dir"
  runuser -u nobody -- "$bin/initdb" -D "$test_postgres_dir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  runuser -u nobody -- "$bin/pg_ctl" -D "$test_postgres_dir/data" -l "$test_postgres_dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $test_postgres_dir -c max_connections=200" start >/dev/null
  export CAPSULE_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "── PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the journal tests at 127.0.0.1:$port ──"
}

stop_test_postgres() {
  [ -n "${test_postgres_dir:-}" ] || return 0
  local bin
  bin="$(test_postgres_bin)" || true
  if [ -n "$bin" ] && [ -f "$test_postgres_dir/data/postmaster.pid" ]; then
    runuser -u nobody -- "$bin/pg_ctl" -D "$test_postgres_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$test_postgres_dir"
  test_postgres_dir=''
}
