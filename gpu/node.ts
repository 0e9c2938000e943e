// Node only: the device thread as a worker_threads Worker running build/gpu-device.js, with Dawn
// (npm `webgpu`) as the WebGPU implementation. Dawn needs a Vulkan driver: the system's, or, on a
// machine without a GPU driver, the SwiftShader driver that Debian's chromium ships
// (VK_ICD_FILENAMES, DESIGN §7); `swiftShaderIcd` finds it.

import { existsSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { GpuDeviceError } from '../engine/core/errors.js';
import type { DeviceThread, FromDevice, ToDevice } from './channel.js';

/** Chromium's SwiftShader Vulkan driver manifest (Debian package `chromium`). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The SwiftShader manifest when it is installed, else null. */
export function swiftShaderIcd(): string | null {
  return existsSync(SWIFTSHADER_ICD) ? SWIFTSHADER_ICD : null;
}

/** Where the Vulkan loader looks for driver manifests on Linux. */
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];

/** Whether the system has any Vulkan driver manifest (a GPU driver, or Mesa's). */
function systemIcds(): boolean {
  return ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
}

/** How long a device thread may take to exit after its close message before it is terminated. */
const CLOSE_GRACE_MS = 10_000;

/** build/gpu-device.js of the package, from gpu/node.ts or dist/gpu/node.js. */
function deviceScript(): URL {
  return new URL(import.meta.url.includes('/dist/gpu/') ? '../../build/gpu-device.js' : '../build/gpu-device.js', import.meta.url);
}

/**
 * Start a device thread. When VK_ICD_FILENAMES is unset and the system has no Vulkan driver, Dawn
 * is pointed at SwiftShader at once; when a system driver gives no adapter, `fallback` retries
 * once on SwiftShader (the variable is set for this process; Dawn reads it when the new thread
 * creates its instance).
 * @example const thread = nodeDeviceThread();
 */
export function nodeDeviceThread(): DeviceThread {
  if (!existsSync(deviceScript())) throw new GpuDeviceError(`${deviceScript().pathname} is missing: run npm run build:gpu`);
  const icd = swiftShaderIcd();
  if (!process.env.VK_ICD_FILENAMES && icd && !systemIcds()) process.env.VK_ICD_FILENAMES = icd;
  const worker = new Worker(deviceScript());
  const listeners = new Set<(m: FromDevice) => void>();
  worker.on('message', (m: FromDevice) => listeners.forEach((l) => l(m)));
  worker.on('error', (e) => listeners.forEach((l) => l({ op: 'failed', error: { name: 'GpuDeviceError', message: `device thread: ${e.message}` } })));
  return {
    post: (m: ToDevice, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer),
    listen: (l) => void listeners.add(l),
    hold: (held) => (held ? worker.ref() : worker.unref()),
    terminate: () => {
      // by message (CloseMessage in channel.ts); Worker.terminate() only if the thread hangs
      worker.postMessage({ op: 'close' } satisfies ToDevice);
      setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS).unref();
    },
    fallback: () => {
      const icd = swiftShaderIcd();
      if (process.env.VK_ICD_FILENAMES || !icd) return null;
      process.env.VK_ICD_FILENAMES = icd;
      return nodeDeviceThread();
    },
  };
}
