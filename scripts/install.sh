#!/bin/sh
# Install township-services from this offline bundle: no network is used.
#
#   sudo ./install.sh --role agent     a township PC: township-agent + its daily backup
#   sudo ./install.sh --role server    the county machine: county-server + its daily backup
#
# Options:
#   --prefix DIR    where the venv and docs go (default /opt/township-services; the units expect that path)
#   --python PY     the Python 3.11+ to build the venv from (default python3)
#   --root DIR      install into another root (image building, tests): no users, no chown, no systemctl
#   --venv-only     only create the venv and install the wheels
#   --no-start      install and enable the units, but start nothing
# Running it again upgrades: the venv is refreshed from the new wheels, configs are kept, units replaced.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROLE=""
PREFIX=/opt/township-services
PY=python3
ROOT=""
VENV_ONLY=no
START=yes

while [ $# -gt 0 ]; do
  case "$1" in
    --role) ROLE=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    --root) ROOT=$2; shift 2 ;;
    --venv-only) VENV_ONLY=yes; shift ;;
    --no-start) START=no; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || die "$PY is missing or older than 3.11; install Python 3.11 (or newer) first, or give --python"
"$PY" -c 'import venv, ensurepip' 2>/dev/null \
  || die "$PY has no venv/ensurepip module; install it (Debian/UOS/Kylin: apt-get install python3-venv)"

VENV="$ROOT$PREFIX/venv"
say "creating the virtual environment in $VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$HERE/wheels" \
  --upgrade township-services
say "installed: $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("township-services"))')"
[ "$VENV_ONLY" = yes ] && exit 0

case "$ROLE" in
  agent) NAMES="township-agent" ;;
  server) NAMES="county-server" ;;
  both) NAMES="township-agent county-server" ;;
  *) die "give --role agent (township PC) or --role server (county machine)" ;;
esac

install -d "$ROOT$PREFIX/docs" "$ROOT/etc/systemd/system" "$ROOT/usr/local/bin"
install -m 0644 "$HERE/docs/operations.md" "$ROOT$PREFIX/docs/operations.md"

is_real_root() { [ -z "$ROOT" ] || [ "$ROOT" = / ]; }

for NAME in $NAMES; do
  if [ "$NAME" = township-agent ]; then CONF=agent.toml; EXAMPLE=agent.example.toml; DB=agent.sqlite3
  else CONF=server.toml; EXAMPLE=server.example.toml; DB=county.sqlite3; fi

  if is_real_root; then
    if ! getent passwd "$NAME" >/dev/null; then
      say "creating system user $NAME"
      useradd --system --user-group --home-dir "/var/lib/$NAME" --no-create-home --shell /usr/sbin/nologin "$NAME"
    fi
    OWNER="-o $NAME -g $NAME"; CONF_OWNER="-o root -g $NAME"
  else
    OWNER=""; CONF_OWNER=""
  fi
  # shellcheck disable=SC2086
  install -d -m 0700 $OWNER "$ROOT/var/lib/$NAME" "$ROOT/var/backups/$NAME"
  # shellcheck disable=SC2086
  install -d -m 0750 $CONF_OWNER "$ROOT/etc/$NAME"

  NEW_CONFIG=no
  if [ ! -e "$ROOT/etc/$NAME/$CONF" ]; then
    NEW_CONFIG=yes
    # The database lives in the unit's StateDirectory: /etc is read-only for the service. So does the county's key
    # file (made 0600 at the first start), beside the database but never in its backups (/var/backups).
    sed -e "s#^database = .*#database = \"/var/lib/$NAME/$DB\"#" \
        -e "s#^key_file = .*#key_file = \"/var/lib/$NAME/county.keys\"#" "$HERE/config/$EXAMPLE" \
        > "$ROOT/etc/$NAME/$CONF.new"
    # shellcheck disable=SC2086
    install -m 0640 $CONF_OWNER "$ROOT/etc/$NAME/$CONF.new" "$ROOT/etc/$NAME/$CONF"
    rm -f "$ROOT/etc/$NAME/$CONF.new"
    say "wrote /etc/$NAME/$CONF from the example: edit it before starting (see docs/operations.md)"
  else
    say "kept the existing /etc/$NAME/$CONF"
  fi
  if [ "$NAME" = county-server ]; then
    for csv in org_units.csv catalog.csv; do
      if [ ! -e "$ROOT/etc/$NAME/$csv" ] && [ -e "$HERE/config/$csv" ]; then
        # shellcheck disable=SC2086
        install -m 0640 $CONF_OWNER "$HERE/config/$csv" "$ROOT/etc/$NAME/$csv"
        say "copied an example /etc/$NAME/$csv: replace it with the county's own"
      fi
    done
  fi

  for unit in "$HERE/units/$NAME.service" "$HERE/units/$NAME-backup.service" "$HERE/units/$NAME-backup.timer"; do
    install -m 0644 "$unit" "$ROOT/etc/systemd/system/$(basename "$unit")"
  done
  ln -sf "$PREFIX/venv/bin/$NAME" "$ROOT/usr/local/bin/$NAME"

  if is_real_root && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable "$NAME.service" "$NAME-backup.timer"
    if [ "$START" = yes ] && [ "$NEW_CONFIG" = no ]; then
      systemctl restart "$NAME.service"
      systemctl start "$NAME-backup.timer"
      say "$NAME (re)started: systemctl status $NAME; journalctl -u $NAME"
    else
      say "$NAME enabled, not started: edit /etc/$NAME/$CONF, then systemctl start $NAME $NAME-backup.timer"
    fi
  else
    say "systemd is not running here: units installed, not enabled (run: systemctl enable --now $NAME $NAME-backup.timer)"
  fi
done
say "done; check with: sudo -u <user> $PREFIX/venv/bin/<program> doctor --config /etc/<program>/<file>.toml"
