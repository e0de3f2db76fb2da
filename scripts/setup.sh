#!/usr/bin/env bash
# hashgrid set-up: system packages, npm dependencies, the wasm and TypeScript builds.
#
# Idempotent and fast when already done: each step checks before it acts.
# Needs root (or sudo) only for the Debian packages; skip them with
# HASHGRID_SKIP_APT=1 on a machine that already has them.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

# Mesa 25+ (lavapipe) lives in bookworm-backports. We enable that suite from the
# Debian source this machine already uses (same URIs and keyring), so no mirror
# host name is ever written into the repository.
enable_backports() {
  local codename src out
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || { log "cannot tell the Debian codename; skipping backports"; return 0; }
  out=/etc/apt/sources.list.d/hashgrid-backports.sources
  if grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then return 0; fi
  src=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | xargs -r grep -l "^Suites:.*\b${codename}\b" | head -n1 || true)
  if [ -z "$src" ]; then log "no deb822 Debian source found; cannot enable ${codename}-backports"; return 1; fi
  log "enabling ${codename}-backports from $src"
  # First stanza whose Suites holds the plain codename: keep Types/URIs/Components/Signed-By.
  awk -v cn="$codename" '
    BEGIN { RS=""; FS="\n" }
    {
      hit = 0
      for (i = 1; i <= NF; i++) if ($i ~ "^Suites:" && (" " $i " ") ~ (" " cn " ")) hit = 1
      if (!hit || done) next
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^#/) continue
        if ($i ~ /^Suites:/) print "Suites: " cn "-backports"; else print $i
      }
      done = 1
    }' "$src" | as_root tee "$out" >/dev/null
  [ -s "$out" ] || { log "could not derive a backports stanza from $src"; return 1; }
}

mesa_version_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null
}

install_system_packages() {
  if [ "${HASHGRID_SKIP_APT:-}" = 1 ]; then log "HASHGRID_SKIP_APT=1: skipping Debian packages"; return 0; fi
  if command -v nats-server >/dev/null && command -v chromium >/dev/null && mesa_version_ok && dpkg -s libvulkan1 >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null || { log "not a Debian system: install nats-server and Mesa 25+ lavapipe yourself"; return 1; }
  enable_backports
  local codename; codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  log "installing Debian packages (nats-server, chromium, libvulkan1, mesa-vulkan-drivers from ${codename}-backports)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # chromium: the dashboard's browser tests drive Debian's build (playwright-core, no browser download).
  as_root apt-get install -y -qq --no-install-recommends nats-server chromium libvulkan1 >/dev/null
  as_root apt-get install -y -qq --no-install-recommends -t "${codename}-backports" mesa-vulkan-drivers >/dev/null
  mesa_version_ok || { log "mesa-vulkan-drivers is older than 25: WebGPU will have no software adapter"; return 1; }
}

install_npm() {
  # npm ci wipes node_modules; skip it when the lockfile has not changed since the last install.
  local stamp=node_modules/.hashgrid-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}

# Everything the build reads; the build is skipped while none of it changed.
build_inputs_hash() {
  find src assembly scripts shaders package-lock.json package.json asconfig.json tsconfig*.json -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

build() {
  local stamp=dist/.hashgrid-build.sha256 want
  want=$(build_inputs_hash)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls build/*.wasm >/dev/null 2>&1; then return 0; fi
  log "building (wasm + TypeScript)"
  npm run --silent build
  echo "$want" >"$stamp"
}

main() {
  install_system_packages
  install_npm
  build
  log "ready"
}

# Sourcing the file (for debugging one step) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
