#!/usr/bin/env bash
# Install the Debian packages Sealflow needs, only those that are missing.
set -euo pipefail
need=()
command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)
# The archive reads a PDF's text with pdftotext; the standard Chinese fonts a PDF names
# without embedding them (Adobe-GB1: STSong-Light) need poppler's character maps.
[ -d /usr/share/poppler/cMap ] || need+=(poppler-data)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
# HSM-held seal keys are tested against SoftHSM2, and checked from outside with OpenSC's pkcs11-tool.
{ command -v softhsm2-util >/dev/null 2>&1 && [ -e /usr/lib/softhsm/libsofthsm2.so ]; } \
  || need+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || need+=(opensc)
# The pages' steps to trust the organisation's root are run as written (NSS's certutil).
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)
# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "please install as root: apt-get install -y ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
