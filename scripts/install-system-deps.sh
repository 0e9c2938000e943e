#!/usr/bin/env bash
# System packages the test suites need on a clean Debian machine (CI runs as root):
# Debian `chromium`, which brings the SwiftShader Vulkan driver
# (/usr/lib/chromium/vk_swiftshader_icd.json) that Dawn (npm `webgpu`) runs the WebGPU suites
# on, and the headless browser the browser suite drives. Idempotent: does nothing when present.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: chromium is missing and this is not root; run: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
echo "install-system-deps: installed chromium $(dpkg-query -W -f='${Version}' chromium)"
