#!/usr/bin/env bash
# Source this file (`. scripts/bootstrap-node.sh`) to get Node >= 22 first on PATH.
# If the Node found is older, Node 24 LTS is installed once from the npm registry package `node@24` (which ships the
# binary) into .tools/node and put first on PATH; later runs reuse it. Needs only npm and the npm registry.
_mvad_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_mvad_tools="$_mvad_root/.tools/node"
_mvad_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$_mvad_tools/node_modules/node/bin/node" ]; then
  export PATH="$_mvad_tools/node_modules/node/bin:$PATH"
fi
if ! command -v node >/dev/null 2>&1 || [ "$(_mvad_major node)" -lt 22 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap-node: neither Node >= 22 nor npm found. Install Node.js 24 LTS (or any npm) and retry." >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "bootstrap-node: found Node $(node --version 2>/dev/null || echo none); installing node@24 into .tools/node" >&2
  mkdir -p "$_mvad_tools"
  npm install --no-save --no-package-lock --prefix "$_mvad_tools" node@24 >&2 || {
    echo "bootstrap-node: 'npm install node@24' failed; install Node.js 24 LTS by hand and retry." >&2
    return 1 2>/dev/null || exit 1
  }
  export PATH="$_mvad_tools/node_modules/node/bin:$PATH"
fi
echo "bootstrap-node: using node $(node --version) at $(command -v node)" >&2
unset _mvad_root _mvad_tools
