#!/usr/bin/env bash
# What the WebGPU test suites need on a clean Debian 12 machine (CI runs this as root before
# `npm install`; DESIGN §7). Idempotent and quiet: each step is skipped when done.
#  1. Debian `chromium`: the headless browser of tests/gpu/browser.test.ts, and its SwiftShader
#     Vulkan driver (/usr/lib/chromium/vk_swiftshader_icd.json), the adapter Dawn (npm `webgpu`)
#     runs the WebGPU conformance on (no shader-f16); and `libvulkan1`, the Vulkan loader Dawn
#     opens (libvulkan.so.1), which chromium does not depend on. Each package is checked on its own.
#  2. Mesa 25 lavapipe, unpacked from bookworm-backports into .cache/lavapipe (no system change):
#     a CPU Vulkan driver with shader-f16, for the f16 half of the conformance (tests/gpu/f16.test.ts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# apt-get install the packages among "$@" whose dpkg status (the Status line of `dpkg -s`) is not
# "install ok installed"; nothing, and no output, when all are.
install_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = 'install ok installed' ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: ${missing[*]} missing and this is not root; run: sudo $0" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for pkg in "${missing[@]}"; do echo "install-system-deps: installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"; done
}

install_missing chromium libvulkan1

LVP="$ROOT/.cache/lavapipe"
if [ ! -f "$LVP/lvp_icd.json" ]; then
  mkdir -p "$LVP"/{lists/partial,cache/archives/partial,sources,debs,root}
  cat > "$LVP/sources/backports.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  APT=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$LVP/sources" -o Dir::State::Lists="$LVP/lists" -o Dir::Cache="$LVP/cache")
  apt-get "${APT[@]}" update -qq
  (cd "$LVP/debs" && apt-get "${APT[@]}" download -qq mesa-vulkan-drivers libdrm2 libdrm-amdgpu1 2>&1 | grep -v unsandboxed || true)
  for deb in "$LVP"/debs/*.deb; do dpkg -x "$deb" "$LVP/root"; done
  LIB="$LVP/root/usr/lib/x86_64-linux-gnu"
  printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s/libvulkan_lvp.so","api_version":"1.4.305"}}\n' "$LIB" > "$LVP/lvp_icd.json"
  echo "install-system-deps: unpacked lavapipe into $LVP"
fi

# lavapipe 25's shared-library dependencies (libLLVM 15, xcb, wayland, …) come with Debian's own
# mesa-vulkan-drivers; a clean machine may lack them.
LVP_SO="$LVP/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"
if LD_LIBRARY_PATH="$LVP/root/usr/lib/x86_64-linux-gnu" ldd "$LVP_SO" | grep -q 'not found'; then
  install_missing mesa-vulkan-drivers
fi
