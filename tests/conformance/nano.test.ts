// Default-suite part of the Nano-dimension conformance (spec §2): the Mamba-2 and attention layers
// at the real shapes, and the MoE kernels at Nano widths with 8 experts, bf16 weights, wasm (SIMD
// and scalar builds) against the reference. The real 128-expert layer and the 131072-row
// embedding / head are in nano.slow.test.ts.

import { wasmBackend, wasmScalarBackend } from '../../assembly/backend/index.js';
import { describeNanoRows, FAST_ROWS } from './nano-layers.js';

describeNanoRows(FAST_ROWS, [wasmBackend, wasmScalarBackend]);
