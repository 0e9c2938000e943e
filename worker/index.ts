// DESIGN §6: the Worker entry. Configuration comes from wrangler.toml [vars] and secrets; the
// model is the edge pack at EDGETRON_MODEL_PATH, served as static assets (the ASSETS binding,
// default) or from the R2 bucket bound as MODELS (EDGETRON_MODEL_SOURCE = "r2"). It is loaded
// once per isolate, on the first request that needs it, on the relaxed-SIMD build of the kernels
// where the engine validates relaxed SIMD (workerd does), else the SIMD build, else the scalar
// one (backend-choice.ts).

import type { Hono } from 'hono';
import { createWasmBackend } from '../assembly/backend/index.js';
import { MAX_MTP } from '../engine/decode/generate.js';
import relaxedKernels from '../build/edgetron-relaxed.wasm';
import scalarKernels from '../build/edgetron-scalar.wasm';
import simdKernels from '../build/edgetron-simd.wasm';
import { DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STALL_TIMEOUT_MS, createApp } from './app.js';
import { serverBackend } from '../serve/backend-choice.js';
import { ModelTooLargeError, ModelUnavailableError } from '../serve/errors.js';
import { ISOLATE_LIMIT_BYTES } from '../serve/fit.js';
import { assetsPack, loadPack, r2Pack, type AssetsBinding, type R2BucketBinding } from '../serve/pack.js';
import type { ServedModel } from '../serve/run.js';
import { BODY_TIMEOUT_MS } from '../serve/validate.js';
import type { PackFiles } from '../serve/pack-files.js';

/** Bindings and variables (wrangler.toml; EDGETRON_API_KEY is a secret). */
export interface Env {
  readonly ASSETS?: AssetsBinding;
  readonly MODELS?: R2BucketBinding;
  readonly EDGETRON_MODEL_ID?: string;
  readonly EDGETRON_MODEL_SOURCE?: string;
  readonly EDGETRON_MODEL_PATH?: string;
  readonly EDGETRON_MAX_CONTEXT?: string;
  readonly EDGETRON_CONCURRENCY?: string;
  readonly EDGETRON_QUEUE?: string;
  /** Speculative decoding (spec §11): tokens the MTP block drafts per step, 0 = off (default). */
  readonly EDGETRON_MTP?: string;
  /** Seconds a stream's client may stop reading before its generation is cancelled (default 30). */
  readonly EDGETRON_STALL_TIMEOUT_S?: string;
  /** Seconds a generation may run in all (default 300). */
  readonly EDGETRON_REQUEST_TIMEOUT_S?: string;
  /** Seconds a request may wait in the queue for a slot before its 429 (default 60). */
  readonly EDGETRON_QUEUE_TIMEOUT_S?: string;
  /** Seconds a request body may take to arrive before its 408 (default 10). */
  readonly EDGETRON_BODY_TIMEOUT_S?: string;
  readonly EDGETRON_API_KEY?: string;
  readonly EDGETRON_CORS_ORIGIN?: string;
  readonly EDGETRON_TEST_HOOKS?: string;
  /** Local benchmarking only: raise the 128 MB fit limit (wrangler dev does not enforce it; Cloudflare does). */
  readonly EDGETRON_ISOLATE_LIMIT_MB?: string;
}

/** The compiled kernel builds (wrangler bundles each .wasm import as a WebAssembly.Module). */
const KERNELS = { relaxed: relaxedKernels, simd: simdKernels, scalar: scalarKernels } as const;

const DEFAULTS = { modelId: 'edgetron-default', path: '/packs/default/', maxContext: 4096, concurrency: 4, queue: 16 };

/** A positive number of seconds from a wrangler var, in milliseconds. */
function secondsVar(env: Env, key: keyof Env, fallbackMs: number): number {
  const text = env[key] as string | undefined;
  if (text === undefined || text === '') return fallbackMs;
  const s = Number(text);
  if (!(Number.isFinite(s) && s > 0)) throw new ModelUnavailableError(`wrangler var ${key} must be a positive number of seconds, got '${text}'`);
  return s * 1000;
}

function intVar(env: Env, key: keyof Env, fallback: number): number {
  const text = env[key] as string | undefined;
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!(Number.isInteger(n) && n > 0)) throw new ModelUnavailableError(`wrangler var ${key} must be a positive integer, got '${text}'`);
  return n;
}

/** The configured pack's files: static assets (default) or the R2 bucket bound as MODELS. */
function packFiles(env: Env): PackFiles {
  const source = env.EDGETRON_MODEL_SOURCE ?? 'assets';
  const path = env.EDGETRON_MODEL_PATH ?? DEFAULTS.path;
  if (source === 'r2') {
    if (!env.MODELS) throw new ModelUnavailableError('EDGETRON_MODEL_SOURCE is "r2" but no R2 bucket is bound as MODELS in wrangler.toml');
    return r2Pack(env.MODELS, path.replace(/^\//, ''));
  }
  if (source === 'assets') {
    if (!env.ASSETS) throw new ModelUnavailableError('no ASSETS binding: wrangler.toml needs [assets] with binding = "ASSETS"');
    return assetsPack(env.ASSETS, path);
  }
  throw new ModelUnavailableError(`wrangler var EDGETRON_MODEL_SOURCE must be "assets" or "r2", got '${source}'`);
}

let served: Promise<ServedModel> | null = null;
let app: Hono | null = null;

/** Load the configured pack once per isolate; a model that cannot fit stays refused. */
function servedModel(env: Env): Promise<ServedModel> {
  served ??= (async () => {
    const maxContextVar = intVar(env, 'EDGETRON_MAX_CONTEXT', DEFAULTS.maxContext);
    const { backend: name, build } = serverBackend();
    const backend = createWasmBackend({ module: KERNELS[build], build }, name);
    const session = await loadPack(packFiles(env), {
      backend,
      maxContext: maxContextVar,
      concurrency: intVar(env, 'EDGETRON_CONCURRENCY', DEFAULTS.concurrency),
      limitBytes: intVar(env, 'EDGETRON_ISOLATE_LIMIT_MB', ISOLATE_LIMIT_BYTES / 2 ** 20) * 2 ** 20,
    });
    const maxContext = Math.min(maxContextVar, session.model.ops.config.maxPositionEmbeddings);
    const mtpVar = Number(env.EDGETRON_MTP ?? '0');
    if (!(Number.isInteger(mtpVar) && mtpVar >= 0 && mtpVar <= MAX_MTP)) {
      throw new ModelUnavailableError(`wrangler var EDGETRON_MTP must be an integer in [0, ${MAX_MTP}], got '${env.EDGETRON_MTP}'`);
    }
    const mtp = session.mtpLoaded ? mtpVar : 0; // a pack without an MTP block decodes plainly
    return { id: env.EDGETRON_MODEL_ID ?? DEFAULTS.modelId, session, maxContext, mtp, created: Math.floor(Date.now() / 1000) };
  })().catch((err) => {
    if (!(err instanceof ModelTooLargeError)) served = null; // a transient failure is retried
    throw err;
  });
  return served;
}

export default {
  fetch(request: Request, env: Env, ctx: unknown): Response | Promise<Response> {
    app ??= createApp({
      model: () => servedModel(env),
      pack: () => packFiles(env),
      apiKey: env.EDGETRON_API_KEY || null,
      corsOrigin: env.EDGETRON_CORS_ORIGIN || null,
      concurrency: intVar(env, 'EDGETRON_CONCURRENCY', DEFAULTS.concurrency),
      maxQueue: intVar(env, 'EDGETRON_QUEUE', DEFAULTS.queue),
      stallTimeoutMs: secondsVar(env, 'EDGETRON_STALL_TIMEOUT_S', DEFAULT_STALL_TIMEOUT_MS),
      requestTimeoutMs: secondsVar(env, 'EDGETRON_REQUEST_TIMEOUT_S', DEFAULT_REQUEST_TIMEOUT_MS),
      queueTimeoutMs: secondsVar(env, 'EDGETRON_QUEUE_TIMEOUT_S', DEFAULT_QUEUE_TIMEOUT_MS),
      bodyTimeoutMs: secondsVar(env, 'EDGETRON_BODY_TIMEOUT_S', BODY_TIMEOUT_MS),
      testHooks: env.EDGETRON_TEST_HOOKS === '1',
    });
    return app.fetch(request, env, ctx as never);
  },
};
