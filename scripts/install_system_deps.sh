#!/usr/bin/env bash
# Install the Debian packages the tests need (headless Chromium + driver, CJK fonts, PostgreSQL, poppler) and the
# en_US.UTF-8 locale (a PostgreSQL database in that locale checks that area paths still compare as bytes).
# Idempotent: skips apt when everything is already there. Needs root (or sudo) on Debian.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)  # not grep -q: with pipefail, an early exit fails fc-list
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)  # TrueType CJK: embedded in 工作简报 PDFs
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)  # the report tests read and render the PDFs
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
[ -f /usr/share/i18n/locales/en_US ] || need+=(locales)  # the sources localedef compiles
has_locale() { locale -a 2>/dev/null | grep -ix 'en_US.utf8' >/dev/null; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages already installed"
else
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! has_locale; then
  echo "generating the en_US.UTF-8 locale"
  $SUDO localedef -i en_US -f UTF-8 en_US.UTF-8
fi
