// Every SIMD kernel of assembly/kernels against its scalar twin and, where the op is a plain
// formula, a plain f64 JS computation, at EVERY length 1..35 = 2·16 + 3 (the unrolled main loops
// step 16 elements, so this reaches the main loop twice, the ×4 loop and every tail length), plus
// a few odd shapes. Both builds run: in the scalar build the dispatching export is scalar too.
// Tolerances are the kernels' stated f32 error bounds (u = 2⁻²⁴), evaluated on the actual data.

import { beforeAll, describe, expect, test } from 'vitest';
import { loadKernels, type KernelExports, type WasmKernels } from '../../assembly/backend/index.js';
import { f32ToBf16Bits, bf16ToF32 } from '../../engine/formats/dtype.js';
import { mulberry32 } from '../helpers/memory-store.js';

const U = 2 ** -24;
const LENGTHS = Array.from({ length: 35 }, (_, i) => i + 1);

/**
 * Plain f64 dot product and the f32 bound of matmul.ts's header: (K/4 + 4)·u·Σ|x_k w_k| for the
 * SIMD paths, (K + 1)·u·Σ|x_k w_k| for the scalar ones (one accumulator per row or token).
 */
function dotRef(x: ArrayLike<number>, xo: number, w: ArrayLike<number>, wo: number, K: number, scalar = false): { value: number; bound: number } {
  let value = 0;
  let abs = 0;
  for (let k = 0; k < K; k++) {
    value += x[xo + k] * w[wo + k];
    abs += Math.abs(x[xo + k] * w[wo + k]);
  }
  return { value, bound: (scalar ? K + 1 : K / 4 + 4) * U * abs + 1e-30 };
}

class Mem {
  private ptrs: number[] = [];
  constructor(readonly kr: WasmKernels) {}
  get k(): KernelExports {
    return this.kr.exports;
  }
  f32(values: ArrayLike<number>): number {
    const p = this.kr.heap.alloc(values.length * 4);
    this.kr.heap.f32(p, values.length).set(values);
    this.ptrs.push(p);
    return p;
  }
  u16(values: ArrayLike<number>): number {
    const p = this.kr.heap.alloc(values.length * 2);
    this.kr.heap.u16(p, values.length).set(values);
    this.ptrs.push(p);
    return p;
  }
  i32(values: ArrayLike<number>): number {
    const p = this.kr.heap.alloc(values.length * 4);
    this.kr.heap.i32(p, values.length).set(values);
    this.ptrs.push(p);
    return p;
  }
  zeros(n: number): number {
    return this.f32(new Float32Array(n));
  }
  read(p: number, n: number): Float32Array {
    return this.kr.heap.f32(p, n).slice();
  }
  release(): void {
    for (const p of this.ptrs) this.kr.heap.free(p);
    this.ptrs = [];
  }
}

function randoms(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

describe.each([
  ['simd', true],
  ['scalar', false],
])('kernels, %s build', (_name, simd) => {
  let kr: WasmKernels;
  let m: Mem;
  beforeAll(async () => {
    kr = await loadKernels({ simd });
    m = new Mem(kr);
  });

  test('the build is the one asked for', () => {
    expect(kr.simd).toBe(simd);
  });

  describe.each([
    ['f32', false],
    ['bf16', true],
  ])('%s weights', (_dtype, bf16) => {
    // W values as the kernel sees them: bf16 bits decoded exactly
    const weights = (n: number, seed: number) => {
      const w = randoms(n, seed);
      if (!bf16) return { values: w, ptr: m.f32(w) };
      const bits = Uint16Array.from(w, f32ToBf16Bits);
      return { values: Float32Array.from(bits, bf16ToF32), ptr: m.u16(bits) };
    };
    const matvec = (s: boolean) => (bf16 ? (s ? m.k.bf16_matvec_scalar : m.k.bf16_matvec) : s ? m.k.f32_matvec_scalar : m.k.f32_matvec);
    const matmul = (s: boolean) => (bf16 ? (s ? m.k.bf16_matmul_scalar : m.k.bf16_matmul) : s ? m.k.f32_matmul_scalar : m.k.f32_matmul);

    /** Both matmul twins on X (T, K) · W(N, K)ᵀ, each output within the f32 dot bound. */
    const checkMatmul = (T: number, K: number, N: number, x: Float32Array, w: { values: Float32Array; ptr: number }) => {
      const xp = m.f32(x);
      for (const twin of [false, true]) {
        const y = m.zeros(T * N);
        matmul(twin)(xp, w.ptr, y, T, K, N);
        const got = m.read(y, T * N);
        for (let t = 0; t < T; t++) {
          for (let n = 0; n < N; n++) {
            const { value, bound } = dotRef(x, t * K, w.values, n * K, K, twin || !simd);
            expect(Math.abs(got[t * N + n] - value)).toBeLessThanOrEqual(bound);
          }
        }
      }
    };

    test.each(LENGTHS)('matvec, K = %i, N = 1..5, both twins within the f32 dot bound', (K) => {
      for (const N of [1, 2, 3, 5]) {
        const x = randoms(K, K * 31 + N);
        const w = weights(N * K, K * 17 + N);
        const xp = m.f32(x);
        for (const twin of [false, true]) {
          const y = m.zeros(N);
          matvec(twin)(xp, w.ptr, y, K, N);
          const got = m.read(y, N);
          for (let n = 0; n < N; n++) {
            const { value, bound } = dotRef(x, 0, w.values, n * K, K, twin || !simd);
            expect(Math.abs(got[n] - value)).toBeLessThanOrEqual(bound);
          }
        }
      }
      m.release();
    });

    // T: the matvec path, a tail-only block, one 4-token block, 4 + 1, 8 + 1; N: one row, a row
    // pair, a pair + an odd row
    test.each(LENGTHS)('matmul, K = %i, T ∈ {1, 3, 4, 5, 9}, N ∈ {1, 2, 3} (token and row tails)', (K) => {
      for (const T of [1, 3, 4, 5, 9]) {
        for (const N of [1, 2, 3]) {
          const x = randoms(T * K, K * 7 + T * 3 + N);
          const w = weights(N * K, K * 5 + N);
          checkMatmul(T, K, N, x, w);
          m.release();
        }
      }
    });

    test('matmul across several row blocks (K = 8203, N = 7, T = 6)', () => {
      const [T, K, N] = [6, 8203, 7];
      const x = randoms(T * K, 99);
      const w = weights(N * K, 98);
      checkMatmul(T, K, N, x, w);
      m.release();
    });
  });

  test.each(LENGTHS)('element-wise kernels at n = %i: twins agree bit for bit with the f32 formula', (n) => {
    const x = randoms(n, n);
    const y = randoms(n, n + 100);
    const a = 0.37;
    const f = Math.fround;
    for (const twin of [false, true]) {
      let xp = m.f32(x);
      (twin ? m.k.f32_add_scalar : m.k.f32_add)(xp, m.f32(y), n);
      expect(m.read(xp, n)).toEqual(Float32Array.from(x, (v, i) => f(v + y[i])));
      xp = m.f32(x);
      (twin ? m.k.f32_relu2_scalar : m.k.f32_relu2)(xp, n);
      expect(m.read(xp, n)).toEqual(Float32Array.from(x, (v) => f(Math.max(v, 0) * Math.max(v, 0))));
      const yp = m.f32(y);
      (twin ? m.k.f32_axpy_scalar : m.k.f32_axpy)(a, m.f32(x), yp, n);
      expect(m.read(yp, n)).toEqual(Float32Array.from(y, (v, i) => f(v + f(f(a) * x[i]))));
      const bits = Uint16Array.from(x, f32ToBf16Bits);
      const out = m.zeros(n);
      (twin ? m.k.bf16_to_f32_scalar : m.k.bf16_to_f32)(m.u16(bits), out, n);
      expect(m.read(out, n)).toEqual(Float32Array.from(bits, bf16ToF32));
    }
    m.release();
  });

  test.each(LENGTHS)('bandwidth probe sums n = %i floats', (n) => {
    const x = randoms(n, n + 7);
    const p = m.f32(x);
    const want = x.reduce((s, v) => s + v, 0);
    const bound = (n / 4 + 4) * U * x.reduce((s, v) => s + Math.abs(v), 0);
    expect(Math.abs(m.k.f32_sum_probe(p, n) - want)).toBeLessThanOrEqual(bound);
    expect(Math.abs(m.k.f32_sum_probe_scalar(p, n) - want)).toBeLessThanOrEqual(bound);
    m.release();
  });

  test.each(LENGTHS)('rmsnorm, d = %i, 3 rows', (d) => {
    const T = 3;
    const eps = 1e-5;
    const x = randoms(T * d, d + 3);
    const w = randoms(d, d + 4, 0.5, 1.5);
    for (const twin of [false, true]) {
      const y = m.zeros(T * d);
      (twin ? m.k.f32_rmsnorm_scalar : m.k.f32_rmsnorm)(m.f32(x), m.f32(w), y, T, d, eps);
      const got = m.read(y, T * d);
      for (let t = 0; t < T; t++) {
        let ss = 0;
        for (let i = 0; i < d; i++) ss += x[t * d + i] ** 2;
        const r = 1 / Math.sqrt(ss / d + eps);
        for (let i = 0; i < d; i++) {
          const want = w[i] * x[t * d + i] * r;
          // header bound: (n/32 + 4)·u relative, plus 2 roundings of the scale pass
          expect(Math.abs(got[t * d + i] - want)).toBeLessThanOrEqual((d / 32 + 6) * U * Math.abs(want) + 1e-30);
        }
      }
    }
    m.release();
  });

  test.each(LENGTHS)('gated group RMSNorm, group size %i, 2 groups × 2 tokens; both twins', (gs) => {
    const [T, G] = [2, 2];
    const dInner = gs * G;
    const zStride = dInner + 3; // z sits in a wider row, as in the in_proj output
    const y = randoms(T * dInner, gs + 10);
    const z = randoms(T * zStride, gs + 11, -3, 3);
    const w = randoms(dInner, gs + 12, 0.5, 1.5);
    for (const twin of [false, true]) {
      const out = m.zeros(T * dInner);
      (twin ? m.k.f32_gated_rmsnorm_scalar : m.k.f32_gated_rmsnorm)(m.f32(y), m.f32(z), zStride, m.f32(w), out, T, dInner, gs, 1e-5);
      const got = m.read(out, T * dInner);
      for (let t = 0; t < T; t++) {
        const g = Array.from({ length: dInner }, (_, c) => y[t * dInner + c] * (z[t * zStride + c] / (1 + Math.exp(-z[t * zStride + c]))));
        for (let grp = 0; grp < G; grp++) {
          let ss = 0;
          for (let c = grp * gs; c < (grp + 1) * gs; c++) ss += g[c] ** 2;
          const r = 1 / Math.sqrt(ss / gs + 1e-5);
          for (let c = grp * gs; c < (grp + 1) * gs; c++) {
            const want = w[c] * g[c] * r;
            // header: ~3u for SiLU plus (gs/32 + 4)·u for the norm, plus the product roundings
            expect(Math.abs(got[t * dInner + c] - want)).toBeLessThanOrEqual((gs / 32 + 10) * U * Math.abs(want) + 1e-30);
          }
        }
      }
    }
    m.release();
  });

  test.each(LENGTHS)('causal conv + SiLU, C = %i, T = 1..6 with a window; twins agree', (C) => {
    const K = 4;
    for (const T of [1, 2, 3, 6]) {
      const xStride = C + 2;
      const x = randoms(T * xStride, C * 10 + T);
      const win = randoms((K - 1) * C, C * 10 + T + 1);
      const wT = randoms(K * C, C * 10 + T + 2);
      const b = randoms(C, C * 10 + T + 3);
      const results: Float32Array[] = [];
      for (const twin of [false, true]) {
        const wp = m.f32(win);
        const y = m.zeros(T * C);
        (twin ? m.k.f32_conv1d_silu_scalar : m.k.f32_conv1d_silu)(m.f32(x), xStride, wp, m.f32(wT), m.f32(b), y, T, C, K);
        results.push(m.read(y, T * C));
        // the window now holds the last K−1 inputs of [window; x]
        const stream = (tau: number, c: number) => (tau < K - 1 ? win[tau * C + c] : x[(tau - K + 1) * xStride + c]);
        const newWin = m.read(wp, (K - 1) * C);
        for (let r = 0; r < K - 1; r++) for (let c = 0; c < C; c++) expect(newWin[r * C + c]).toBe(Math.fround(stream(T + r, c)));
        for (let t = 0; t < T; t++) {
          for (let c = 0; c < C; c++) {
            let a = b[c];
            let abs = Math.abs(b[c]);
            for (let k = 0; k < K; k++) {
              a += wT[k * C + c] * stream(t + k, c);
              abs += Math.abs(wT[k * C + c] * stream(t + k, c));
            }
            const want = a / (1 + Math.exp(-a));
            // header: (K+1)·u·(|b| + Σ|W x|) on the pre-activation (SiLU' ≤ 1.1), ~3u relative for SiLU
            expect(Math.abs(results[results.length - 1][t * C + c] - want)).toBeLessThanOrEqual(1.1 * (K + 1) * U * abs + 4 * U * Math.abs(want) + 1e-30);
          }
        }
      }
      m.release();
    }
  });

  /** An SSM problem: x (T, H·P), B/C (T, G·N) packed in rows of stride xStride, dt (T, H). */
  function ssmProblem(T: number, H: number, P: number, G: number, N: number, seed: number) {
    const xStride = H * P + 2 * G * N;
    return {
      xStride,
      rows: randoms(T * xStride, seed),
      dt: randoms(T * H, seed + 1, -3, 1),
      dtBias: randoms(H, seed + 2, -1, 0),
      A: randoms(H, seed + 3, -8, -1),
      D: randoms(H, seed + 4, 0.5, 1.5),
      state: randoms(H * P * N, seed + 5),
    };
  }

  test.each(LENGTHS)('SSD decode step, N = %i (H 4, P 3, G 2); twins agree', (N) => {
    const [H, P, G] = [4, 3, 2];
    const s = ssmProblem(1, H, P, G, N, N);
    const outs: Float32Array[] = [];
    for (const twin of [false, true]) {
      const rows = m.f32(s.rows);
      const st = m.f32(s.state);
      const y = m.zeros(H * P);
      (twin ? m.k.f32_ssd_step_scalar : m.k.f32_ssd_step)(rows, rows + H * P * 4, rows + (H * P + G * N) * 4, m.f32(s.dt), m.f32(s.dtBias), m.f32(s.A), m.f32(s.D), st, y, H, P, G, N);
      outs.push(m.read(y, H * P), m.read(st, H * P * N));
    }
    // header: each twin is within (N/16 + 5)·u·Σ_n |C_n S'_n| + u·|D x| of the exact y, and each
    // state element within 3u·(|S| + |Δ x B|), so the twins differ by at most twice that
    const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
    const dMax = Math.log1p(Math.exp(maxAbs(s.dt) + maxAbs(s.dtBias)));
    const xMax = maxAbs(s.rows);
    for (let h = 0; h < H; h++) {
      for (let p = 0; p < P; p++) {
        const c = h * P + p;
        let mag = 0;
        for (let n = 0; n < N; n++) mag += Math.abs(s.rows[H * P + G * N + Math.floor(h / (H / G)) * N + n] * outs[3][c * N + n]);
        const tol = 2 * ((N / 16 + 5) * U * mag + U * Math.abs(s.D[h] * s.rows[c])) + 1e-30;
        expect(Math.abs(outs[0][c] - outs[2][c])).toBeLessThanOrEqual(tol);
      }
    }
    const stateTol = 2 * 3 * U * (maxAbs(s.state) + dMax * xMax * xMax);
    for (let i = 0; i < H * P * N; i++) expect(Math.abs(outs[1][i] - outs[3][i])).toBeLessThanOrEqual(stateTol);
    m.release();
  });

  test.each(LENGTHS)('chunked SSD equals T decode steps, N = %i (Q 4, T 9: two chunks + a short one)', (N) => {
    const [T, H, P, G, Q] = [9, 4, 5, 2, 4];
    const s = ssmProblem(T, H, P, G, N, 1000 + N);
    const dInner = H * P;
    const B0 = dInner * 4;
    const C0 = (dInner + G * N) * 4;
    const params = [m.f32(s.dtBias), m.f32(s.A), m.f32(s.D)] as const;
    // sequential: T calls of the step kernel (the §6.5 scan)
    const rowsP = m.f32(s.rows);
    const stSeq = m.f32(s.state);
    const ySeq = m.zeros(T * dInner);
    const dtP = m.f32(s.dt);
    for (let t = 0; t < T; t++) {
      const r = rowsP + t * s.xStride * 4;
      m.k.f32_ssd_step_scalar(r, r + B0, r + C0, dtP + t * H * 4, ...params, stSeq, ySeq + t * dInner * 4, H, P, G, N);
    }
    const want = m.read(ySeq, T * dInner);
    const wantState = m.read(stSeq, H * P * N);
    // header: ≤ (Q + N/4 + 8)·u times the magnitudes summed. Every term of y or S is bounded by
    // M = N·|C|max·(|S|max + Q·Δmax·|x|max·|B|max) + |D|max·|x|max (Δ ≤ softplus(|dt| + |bias|)),
    // and the step kernel carries the same bound, so the two forms differ by at most twice it.
    const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
    const dMax = Math.log1p(Math.exp(maxAbs(s.dt) + maxAbs(s.dtBias)));
    const vMax = maxAbs(s.rows); // x, B and C all come from these rows
    const sMax = Math.max(maxAbs(s.state), maxAbs(wantState));
    const M = N * vMax * (sMax + Q * dMax * vMax * vMax) + maxAbs(s.D) * vMax;
    const tol = 2 * (Q + N / 4 + 8) * U * M;
    for (const twin of [false, true]) {
      const st = m.f32(s.state);
      const y = m.zeros(T * dInner);
      const scratch = kr.heap.alloc(m.k.f32_ssd_chunked_scratch_bytes(Q, P, N));
      (twin ? m.k.f32_ssd_chunked_scalar : m.k.f32_ssd_chunked)(rowsP, rowsP + B0, rowsP + C0, s.xStride, dtP, H, ...params, st, y, T, H, P, G, N, Q, scratch);
      kr.heap.free(scratch);
      const got = m.read(y, T * dInner);
      for (let i = 0; i < T * dInner; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol);
      const gotState = m.read(st, H * P * N);
      for (let i = 0; i < H * P * N; i++) expect(Math.abs(gotState[i] - wantState[i])).toBeLessThanOrEqual(tol);
    }
    m.release();
  });

  // the caches in f32, or in bf16 (bf16_attention: each element widened exactly, so the same
  // bound holds against the widened values)
  test.each(LENGTHS.flatMap((hd) => [[hd, 'f32'], [hd, 'bf16']] as const))('attention, head dim %i, %s caches, GQA 4 q / 2 kv heads, T 3 after 2 cached rows; twins agree', (hd, kv) => {
    const [T, pos0, nH, nKv] = [3, 2, 4, 2];
    const widen = (a: Float32Array) => (kv === 'bf16' ? a.map((v) => bf16ToF32(f32ToBf16Bits(v))) : a);
    const q = randoms(T * nH * hd, hd * 3);
    const kc = widen(randoms((pos0 + T) * nKv * hd, hd * 3 + 1));
    const vc = widen(randoms((pos0 + T) * nKv * hd, hd * 3 + 2));
    const cache = (a: Float32Array) => (kv === 'bf16' ? m.u16(Array.from(a, f32ToBf16Bits)) : m.f32(a));
    const scale = 1 / Math.sqrt(hd);
    const outs: Float32Array[] = [];
    for (const twin of [false, true]) {
      const y = m.zeros(T * nH * hd);
      const scores = m.zeros(pos0 + T);
      const kernel = kv === 'bf16' ? (twin ? m.k.bf16_attention_scalar : m.k.bf16_attention) : twin ? m.k.f32_attention_scalar : m.k.f32_attention;
      kernel(m.f32(q), cache(kc), cache(vc), y, T, pos0, nH, nKv, hd, scale, scores);
      outs.push(m.read(y, T * nH * hd));
    }
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < nH; h++) {
        const kv = Math.floor(h / (nH / nKv));
        const L = pos0 + t + 1;
        const dots = Array.from({ length: L }, (_, j) => dotRef(q, (t * nH + h) * hd, kc, (j * nKv + kv) * hd, hd));
        const s = dots.map((d) => scale * d.value);
        // header: each score is off by ≤ e_j = (hd/16 + 4)·u·scale·Σ|q k_j| (dotRef's bound is
        // that plus u), which moves p_j by ≤ 2·max e·p_j; the exp/normalise add ~4u, the weighted
        // sum (L + 4)·u, all relative to Σ_j p_j |V_j|
        const eMax = Math.max(...dots.map((d) => scale * d.bound));
        const mx = Math.max(...s);
        const e = s.map((v) => Math.exp(v - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) {
          let want = 0;
          let abs = 0;
          for (let j = 0; j < L; j++) {
            want += (e[j] / sum) * vc[(j * nKv + kv) * hd + i];
            abs += (e[j] / sum) * Math.abs(vc[(j * nKv + kv) * hd + i]);
          }
          const tol = (2 * eMax + (L + 8) * U) * abs + 1e-30;
          for (const out of outs) expect(Math.abs(out[(t * nH + h) * hd + i] - want)).toBeLessThanOrEqual(tol);
        }
      }
    }
    m.release();
  });

  test.each(LENGTHS)('f32 → bf16, %i values: nearest even, as engine/formats/dtype.ts rounds; twins agree', (n) => {
    const x = randoms(n, n + 90);
    for (const twin of [false, true]) {
      const y = kr.heap.alloc(2 * n);
      (twin ? m.k.f32_to_bf16_scalar : m.k.f32_to_bf16)(m.f32(x), y, n);
      const got = Array.from(kr.heap.u16(y, n));
      kr.heap.free(y);
      expect(got).toEqual(Array.from(x, f32ToBf16Bits));
      for (let i = 0; i < n; i++) expect(Math.abs(bf16ToF32(got[i]) - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8); // half an ulp of 7 mantissa bits
    }
    m.release();
  });

  test('f32 → bf16 on hand-picked bits: ties to even, carries into the exponent, overflow to inf, NaN kept, subnormals; twins agree', () => {
    // [f32 bits, bf16 bits] worked out by hand: keep the high half, add 1 when the low half is above 0x8000 or equal with an odd high half
    const cases: [number, number][] = [
      [0x3f800000, 0x3f80], // 1
      [0x3f808000, 0x3f80], // 1 + 2⁻⁸: a tie, the even 0x3f80
      [0x3f818000, 0x3f82], // a tie above the odd 0x3f81: up to the even 0x3f82
      [0x3f808001, 0x3f81], // just above the tie: up
      [0x3f807fff, 0x3f80], // just below: down
      [0x3fffffff, 0x4000], // the carry reaches the exponent: 2
      [0xc0200000, 0xc020], // −2.5, exact
      [0x7f7fffff, 0x7f80], // the largest f32 rounds to +inf
      [0x7f800000, 0x7f80], // +inf
      [0xff800000, 0xff80], // −inf
      [0x7fc00001, 0x7fc0], // quiet NaN
      [0x7f800001, 0x7fc0], // signalling NaN: a NaN still, not inf
      [0x00008000, 0x0000], // subnormal tie: even 0
      [0x00018000, 0x0002], // subnormal tie above odd: up
      [0x80000000, 0x8000], // −0
    ];
    const x = new Float32Array(new Uint32Array(cases.map((c) => c[0])).buffer);
    for (const twin of [false, true]) {
      const y = kr.heap.alloc(2 * cases.length);
      (twin ? m.k.f32_to_bf16_scalar : m.k.f32_to_bf16)(m.f32(x), y, cases.length);
      expect(Array.from(kr.heap.u16(y, cases.length)).map((b) => b.toString(16))).toEqual(cases.map((c) => c[1].toString(16)));
      kr.heap.free(y);
    }
    m.release();
  });

  test.each(LENGTHS)('gather rows and weighted scatter-add, %i columns', (cols) => {
    const src = randoms(5 * cols, cols + 40);
    const idx = [3, 0, 4];
    const gains = [0.5, -1.25, 2];
    const gathered = m.zeros(3 * cols);
    m.k.f32_gather_rows(m.f32(src), cols, m.i32(idx), 3, gathered);
    const g = m.read(gathered, 3 * cols);
    for (let i = 0; i < 3; i++) expect(g.subarray(i * cols, (i + 1) * cols)).toEqual(src.subarray(idx[i] * cols, (idx[i] + 1) * cols));
    const base = randoms(5 * cols, cols + 41);
    for (const twin of [false, true]) {
      const dst = m.f32(base);
      (twin ? m.k.f32_scatter_add_rows_scalar : m.k.f32_scatter_add_rows)(gathered, cols, m.i32(idx), m.f32(gains), 3, dst);
      const want = Float32Array.from(base);
      idx.forEach((r, i) => {
        for (let c = 0; c < cols; c++) want[r * cols + c] = Math.fround(want[r * cols + c] + Math.fround(Math.fround(gains[i]) * g[i * cols + c]));
      });
      expect(m.read(dst, 5 * cols)).toEqual(want);
    }
    m.release();
  });

  test('MoE routing: equal scores pick the lowest indices; group limiting keeps the best groups', () => {
    const [E, K] = [8, 3];
    const idx = m.i32(new Int32Array(2 * K));
    const wts = m.zeros(2 * K);
    const scratch = kr.heap.alloc(m.k.f32_moe_route_scratch_bytes(E, 4));
    // token 0: all logits 0 → σ = 0.5 everywhere, ties → experts 0, 1, 2, weights 1/3 each × 2.5
    // token 1: groups of 2; group 3 (experts 6, 7) has the best top-2 sum, then group 1
    const logits = m.f32([...new Array(E).fill(0), -4, -4, 1, 1.5, -4, -4, 2, 2.5]);
    m.k.f32_moe_route(logits, m.zeros(E), idx, wts, 2, E, K, 1, 1, 2.5, 1, scratch);
    expect([...kr.heap.i32(idx, K)]).toEqual([0, 1, 2]);
    for (const w of kr.heap.f32(wts, K)) expect(w).toBeCloseTo(2.5 / 3, 6);
    m.k.f32_moe_route(logits + 4 * E, m.zeros(E), idx, wts, 1, E, K, 4, 2, 1, 0, scratch);
    expect([...kr.heap.i32(idx, K)]).toEqual([7, 6, 3]);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    expect([...kr.heap.f32(wts, K)].map((v) => +v.toFixed(6))).toEqual([sig(2.5), sig(2), sig(1.5)].map((v) => +Math.fround(v).toFixed(6)));
    kr.heap.free(scratch);
    m.release();
  });
});
