#!/usr/bin/env bash
# Install the Debian packages ninja_redis needs and start the services its tests use.
#
#   scripts/setup-debian.sh demo   redis-server, python3-venv, a C compiler
#   scripts/setup-debian.sh test   the above + PHP 8.2 with phpredis/igbinary/msgpack,
#                                  Debian's Laravel 8.83 components (php-illuminate-*),
#                                  PostgreSQL and MariaDB (failed_jobs tests), and makes
#                                  sure both answer on 127.0.0.1 with a database "test"
#
# Idempotent and quick when everything is there: apt-get runs only for missing packages.
# Needs root (or sudo) only when something has to be installed or started.
set -euo pipefail

what="${1:-test}"
case "$what" in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac

demo_pkgs=(python3-venv python3-dev build-essential redis-server)
php_pkgs=(php-cli php-redis php-igbinary php-msgpack php-mbstring php-sqlite3 php-mysql php-pgsql)
illuminate=(auth bus cache collections config console container contracts cookie database
            encryption events filesystem hashing http macroable pipeline queue redis session
            support)
db_pkgs=(postgresql mariadb-server mariadb-client)

pkgs=("${demo_pkgs[@]}")
if [ "$what" = test ]; then
    pkgs+=("${php_pkgs[@]}" "${db_pkgs[@]}")
    for c in "${illuminate[@]}"; do pkgs+=("php-illuminate-$c"); done
fi

log() { echo "setup-debian: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else log "need root for: $*"; exit 1
    fi
}

if ! command -v dpkg-query >/dev/null; then
    log "not a Debian system: install the equivalents of ${pkgs[*]} by hand"
    exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
else
    log "all ${#pkgs[@]} Debian packages are installed"
fi

[ "$what" = test ] || exit 0

# ---------------------------------------------------------------- services
wait_for() {  # wait_for SECONDS CMD...
    local n=$(( $1 * 4 )); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    return 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
    log "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    wait_for 30 pg_up || { log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
fi
pg_sql() { as_root runuser -u postgres -- psql -X -q -tA "$@"; }
if [ "$(pg_sql -c "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    log "creating PostgreSQL database test"
    pg_sql -c "CREATE DATABASE test"
fi
if ! psql -X -q -h 127.0.0.1 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; then
    # A stock Debian cluster wants a password on TCP; the tests connect as postgres
    # without one, like CI's machine. Allow that for 127.0.0.1 only.
    hba=$(pg_sql -c 'SHOW hba_file')
    log "allowing password-less local TCP logins in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    pg_sql -c 'SELECT pg_reload_conf()' >/dev/null
fi

my_up() { mariadb-admin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root ping; }
if ! mariadb-admin --connect-timeout=2 ping >/dev/null 2>&1 && ! my_up >/dev/null 2>&1; then
    log "starting MariaDB"
    as_root install -d -o mysql -g mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for 30 mariadb-admin --connect-timeout=2 ping \
        || { log "MariaDB does not answer"; exit 1; }
fi
if ! my_up >/dev/null 2>&1; then
    log "allowing password-less root logins over TCP (like CI's machine)"
    as_root mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
fi
mariadb -h 127.0.0.1 -P 3306 -u root -e 'CREATE DATABASE IF NOT EXISTS test'
log "PostgreSQL and MariaDB answer on 127.0.0.1 with database test"
