// The .wgsl kernels are bundled as text (esbuild's text loader, scripts/build-gpu.mjs).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
