// The conformance table (ops-rows.ts) on the wasm backend, SIMD build and scalar build, against
// the `reference` backend. Metric and tolerance rule: tests/conformance/harness.ts.

import { wasmBackend, wasmScalarBackend } from '../../assembly/backend/index.js';
import { describeOpRows } from './ops-rows.js';

describeOpRows([wasmBackend, wasmScalarBackend]);
