// Slow part of the Nano-dimension conformance (spec §2; `npm run test:slow`): the real MoE layer
// (128 experts top-6, 2.5 GB of bf16 experts copied into WASM memory), the 131072-row embedding
// and head, and a relu² MLP at Nano widths; wasm (SIMD and scalar builds) against the reference.

import { wasmBackend, wasmScalarBackend } from '../../assembly/backend/index.js';
import { describeNanoRows, SLOW_ROWS } from './nano-layers.js';

describeNanoRows(SLOW_ROWS, [wasmBackend, wasmScalarBackend]);
