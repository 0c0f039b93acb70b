# Puts a supported Node.js (>= 22; we target 24 LTS) first on PATH for the
# current shell. Source it, do not run it:
#
#   . scripts/use-node.sh
#
# When the machine's own `node` is 22 or newer, nothing changes. Otherwise the
# pinned Node 24 below is installed from the npm registry (the official binary,
# packaged as node-linux-<arch>; npm checks its integrity) into a cache folder
# and its bin/ is put first on PATH. npm itself is the machine's: its launcher
# runs on whichever `node` comes first on PATH. Native addons built from source
# then compile against Node 24's headers, which the package carries.
#
# ROOMCAST_NODE_CACHE picks the cache folder (default ~/.cache/roomcast/node).

ROOMCAST_NODE_VERSION=24.22.3

roomcast_node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

roomcast_use_node() {
  if [ "$(roomcast_node_major)" -ge 22 ]; then
    return 0
  fi
  local arch
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "use-node: no packaged Node for $(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  local pkg="node-linux-${arch}"
  local cache="${ROOMCAST_NODE_CACHE:-${HOME:-/root}/.cache/roomcast/node}/${ROOMCAST_NODE_VERSION}"
  local home="${cache}/node_modules/${pkg}"
  if [ ! -x "${home}/bin/node" ]; then
    echo "use-node: installing Node ${ROOMCAST_NODE_VERSION} (${pkg}) into ${cache}" >&2
    mkdir -p "${cache}" || return 1
    npm install --prefix "${cache}" --no-audit --no-fund --no-save --no-package-lock --loglevel=error \
      "${pkg}@${ROOMCAST_NODE_VERSION}" >&2 || return 1
  fi
  export PATH="${home}/bin:${PATH}"
  # Build native addons against this Node's headers, not the machine's (npm's nodedir may name them).
  export npm_config_nodedir="${home}"
  hash -r 2>/dev/null || true
  if [ "$(roomcast_node_major)" -lt 22 ]; then
    echo "use-node: ${home}/bin/node did not run" >&2
    return 1
  fi
}

roomcast_use_node
