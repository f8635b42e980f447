#!/usr/bin/env bash
# The HTML report in a real browser (CI's browser step; see the README,
# "Checking the HTML report").
#
# Installs Debian's chromium and chromium-driver when they are missing (as
# root), Selenium into target/browser-venv, renders the fixture report with
# the report tests, and runs check_report.py on it. About 15 s when the
# browser is installed; the install adds a minute or two.
#
# HEAPLAB_BROWSER_SHOTS=DIR keeps screenshots of the report in DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

t0=$(date +%s)
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser check: /usr/bin/chromium or /usr/bin/chromedriver is missing;" \
      "install them as root: apt-get update && apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
  echo "browser check: installing Debian's chromium and chromium-driver"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null
/usr/bin/chromedriver --version
t1=$(date +%s)

venv=target/browser-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/browser/requirements.txt
t2=$(date +%s)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
HEAPLAB_REPORT_OUT="$out/report" cargo test -q --test report render_fixture_for_inspection >/dev/null
t3=$(date +%s)

status=0
"$venv/bin/python" tests/browser/check_report.py \
  --report "$out/report/report.html" --results tests/fixtures/small.json \
  ${HEAPLAB_BROWSER_SHOTS:+--shots "$HEAPLAB_BROWSER_SHOTS"} || status=$?
t4=$(date +%s)
echo "browser check times: install $((t1 - t0)) s, selenium $((t2 - t1)) s," \
  "render $((t3 - t2)) s, check $((t4 - t3)) s"
exit "$status"
