#!/usr/bin/env bash
# The two set-up commands of the README:
#   ./run.sh demo   set up, start the services, run the end-to-end demo, stop them
#   ./run.sh test   set up, run the whole test suite (it starts and stops its own services)
set -euo pipefail
cd "$(dirname "$0")"

python_bin() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return
    fi
  done
  echo "AgentFactory needs Python 3.11 (the iowarp-core wheel); set PYTHON=/path/to/python3.11" >&2
  exit 1
}

setup() {
  if ! command -v memcached >/dev/null 2>&1 && [ ! -x /usr/bin/memcached ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing memcached (Debian package)..." >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached >/dev/null
    else
      echo "note: no memcached binary; the demo uses the embedded cache, the tests need memcached" >&2
    fi
  fi
  if [ ! -x .venv/bin/python ]; then
    "$(python_bin)" -m venv .venv
  fi
  # reinstall only when pyproject.toml changed since the last install
  if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch .venv/.installed
  fi
}

case "${1:-}" in
  demo)
    setup
    export AGENTFACTORY_HOME="${AGENTFACTORY_HOME:-$PWD/.agentfactory/demo}"
    exec .venv/bin/agentfactory demo --stop-services
    ;;
  test)
    setup
    shift
    set +e
    .venv/bin/python -m pytest tests notebooks --nbval-lax --nbval-current-env \
      --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider "$@"
    rc=$?
    set -e
    if [ "$rc" = 5 ]; then
      echo "pytest collected no tests: that is a failure here" >&2
      exit 1
    fi
    exit "$rc"
    ;;
  *)
    echo "usage: ./run.sh demo | test [pytest args]" >&2
    exit 2
    ;;
esac
