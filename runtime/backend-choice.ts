// DESIGN §2, house style H24: the one rule for where the model runs, shared by every place that
// has to decide: the CLI's `--backend auto` (cli/backends.ts, from this engine's probes), the
// Worker's advice to a client (`GET /v1/backend`, serve/backend-choice.ts, from what the client
// reports) and the embed when it cannot ask the Worker (embed/choose.ts, from its own probes).
// Each caller gathers what it knows; the rule is
//   a usable WebGPU adapter            → webgpu
//   WASM SIMD validated, or not known  → wasm (the SIMD build; every current browser has it)
//   no WASM SIMD                       → wasm-scalar
// and every choice comes back with its reason.

/** Where a model can run: the WebGPU backend, or the WASM backend on its SIMD or scalar build. */
export type RunBackend = 'webgpu' | 'wasm' | 'wasm-scalar';

/** A choice and why it was made. */
export interface Choice<B extends string> {
  readonly backend: B;
  readonly reason: string;
}

/** What is known of an engine: each fact true, false, or null when nobody said. */
export interface Capabilities {
  /** A usable WebGPU adapter. */
  readonly webgpu: boolean | null;
  /** Why `webgpu` is what it is, for the reason (e.g. 'the page is not cross-origin isolated'). */
  readonly webgpuReason?: string;
  /** The engine validates the WASM SIMD probe. */
  readonly simd: boolean | null;
}

/**
 * The backend for these capabilities, by the rule of the header.
 * @example chooseBackend({ webgpu: false, webgpuReason: 'no navigator.gpu', simd: true }); // { backend: 'wasm', reason: 'WASM SIMD (no WebGPU: no navigator.gpu)' }
 */
export function chooseBackend(caps: Capabilities): Choice<RunBackend> {
  if (caps.webgpu) return { backend: 'webgpu', reason: caps.webgpuReason ?? 'a WebGPU adapter' };
  const noGpu = caps.webgpu === false ? `no WebGPU${caps.webgpuReason ? `: ${caps.webgpuReason}` : ''}` : 'WebGPU not reported';
  if (caps.simd === false) return { backend: 'wasm-scalar', reason: `no WASM SIMD (${noGpu})` };
  if (caps.simd === null) return { backend: 'wasm', reason: `WASM SIMD not reported: every current engine has it (${noGpu})` };
  return { backend: 'wasm', reason: `WASM SIMD (${noGpu})` };
}
