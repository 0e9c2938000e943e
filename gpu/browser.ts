// Browser: the device thread as a module Worker running build/gpu-device.js (served by the page's
// origin). The model itself must run in a Worker too (reads block in Atomics.wait, refused on a
// page's main thread) on a cross-origin-isolated page (SharedArrayBuffer).

import type { DeviceThread, FromDevice, ToDevice } from './channel.js';

/**
 * A device thread from the URL of build/gpu-device.js, for `createWebGpuBackend({ spawn })`.
 * @example const backend = createWebGpuBackend({ spawn: () => browserDeviceThread('/build/gpu-device.js') });
 */
export function browserDeviceThread(url: string | URL): DeviceThread {
  const worker = new Worker(url, { type: 'module' });
  return {
    post: (m: ToDevice, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer ?? []),
    listen: (l: (m: FromDevice) => void) => worker.addEventListener('message', (e: MessageEvent<FromDevice>) => l(e.data)),
    terminate: () => worker.terminate(),
  };
}
