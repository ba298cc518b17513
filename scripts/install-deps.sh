#!/usr/bin/env bash
# Installs what vigie's tests need, idempotently: Debian packages that are
# missing (real plugins and a browser for the console tests) and the
# console's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  monitoring-plugins-basic    # check_tcp, check_load, check_disk, check_dummy…
  monitoring-plugins-standard # check_http, check_curl, check_dns…
  liburiparser1               # check_curl needs it without recommends
  chromium                    # headless browser for the console's e2e tests
  iproute2
  slapd                       # a real LDAP directory for the sign-in tests
  ldap-utils
  ca-certificates
  prometheus                  # remote-write peer: receiver for vigie's queue, sender into vigie
  prometheus-alertmanager     # sends real webhook notifications to the Alertmanager source
  snmpd                       # a real SNMP agent polled by the SNMP tests
  snmp                        # snmpget/snmpbulkwalk (the SNMP tests' reference), snmptrap (real traps to the trap receiver)
)
# `install-deps.sh --bench` adds the peers the benchmarks run beside vigie.
if [ "${1:-}" = "--bench" ]; then
  packages+=(nagios4-core)
fi
missing=()
for p in "${packages[@]%% *}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" = "--bench" ] && exit 0

if [ ! -f web/node_modules/.installed ] || [ web/package-lock.json -nt web/node_modules/.installed ]; then
  (cd web && npm ci --no-audit --no-fund && touch node_modules/.installed)
fi
