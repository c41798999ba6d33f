#!/usr/bin/env bash
# Install the Debian packages a target needs, only those whose command or file is missing.
# usage: deploy/sysdeps.sh redis ukey print            (make run)
#        deploy/sysdeps.sh redis ukey print browser observe    (make test)
#        deploy/sysdeps.sh redis ukey bench      (make bench: the wrk load tool)
set -euo pipefail
need=()
for group in "$@"; do
  case "$group" in
    redis) command -v redis-server >/dev/null || need+=(redis-server) ;;
    ukey) [ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null || need+=(softhsm2) ;;
    # promtool checks the alert rules (tests/unit/test_metrics_files.py); the server is not started.
    observe) command -v promtool >/dev/null || need+=(prometheus) ;;
    bench) command -v wrk >/dev/null || need+=(wrk) ;;
    # The prints' embedded Chinese font (hall_common/prints.py; settings.pdf_font_path).
    print) [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei) ;;
    browser)
      command -v chromium >/dev/null || need+=(chromium)
      [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei) ;;
    *) echo "unknown group $group" >&2; exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing Debian packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
