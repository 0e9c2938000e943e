// DESIGN §6: the Hono app. Routes: GET /v1/models, POST /v1/chat/completions, POST
// /v1/completions (SSE or JSON), POST /v1/embeddings, /v1/classifiers and /v1/classify
// (metric-routes.ts), GET /v1/backend, GET /v1/pack/:file (the served pack's files, for the
// embed script's local mode), GET /embed.js and /embed/* (the embed bundle, from the static
// assets with CORS), GET /health, GET / (demo page, cross-origin isolated). The model
// comes from an injected provider, so tests can serve any model and the Worker entry
// (index.ts) serves the edge pack. Handlers throw; `toApiError` + the one `onError` map every
// failure to OpenAI-shaped JSON (house style H19); a stream that fails after it started ends
// with one error chunk. Generation slots are limited (queue.ts; the `n` choices of a request
// share its one slot and run in turn, run.ts runChoices); a client that goes away aborts its
// generation, which frees the sequence state.

import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { ChatTemplateError, ContextWindowExceededError, EdgetronError, InvalidOptionError, TokenOutOfRangeError } from '../engine/core/errors.js';
import { adviseClient, serverBackend } from '../serve/backend-choice.js';
import { DEMO_HTML } from './demo.js';
import {
  ApiError,
  AuthenticationError,
  InternalError,
  InvalidRequestError,
  ModelTooLargeError,
  ModelUnavailableError,
  RateLimitError,
  RequestTimeoutError,
  RouteNotFoundError,
  StreamStalledError,
} from '../serve/errors.js';
import { AnswerBuilder, chatChunk, choiceChunk, sseData, sseError, usageChunk, type ResponseMeta } from '../serve/openai.js';
import { registerMetricRoutes } from './metric-routes.js';
import type { AssetsBinding } from '../serve/pack.js';
import { ConcurrencyLimiter, type Slot } from '../serve/queue.js';
import { prepare, runChoices, type ChoiceEvent, type ServedModel } from '../serve/run.js';
import { BODY_TIMEOUT_MS, MAX_BODY_BYTES, parseChatRequest, parseCompletionRequest, readJsonBody, type ChatRequest, type CompletionRequest } from '../serve/validate.js';
import type { PackFiles } from '../serve/pack-files.js';

export interface AppOptions {
  /** The served model; called per request, so it must cache (index.ts loads once per isolate). */
  readonly model: () => Promise<ServedModel>;
  /** The served pack's files (GET /v1/pack/:file); none when absent. */
  readonly pack?: () => PackFiles;
  /** Bearer key required on /v1/* (EDGETRON_API_KEY); none when empty. */
  readonly apiKey?: string | null;
  /** Allowed CORS origins: '*' or a comma-separated list; no CORS headers when empty. */
  readonly corsOrigin?: string | null;
  /** Generations at once (default 4). */
  readonly concurrency?: number;
  /** Requests waiting for a slot before 429 (default 16). */
  readonly maxQueue?: number;
  /** Retry-After of a 429, in seconds (default 2). */
  readonly retryAfterS?: number;
  /** A stream whose client has not read for this long is cancelled and its slot freed (default 30 s). */
  readonly stallTimeoutMs?: number;
  /** Longest a generation may run; then it stops with a 504 `request_timeout` error (default 300 s). */
  readonly requestTimeoutMs?: number;
  /** Accept the `x_force_output` test field (EDGETRON_TEST_HOOKS=1). */
  readonly testHooks?: boolean;
  readonly maxBodyBytes?: number;
  /** Longest a request body may take to arrive; then 408 (default 10 s). */
  readonly bodyTimeoutMs?: number;
  /** Longest a request waits in the queue for a slot; then 429 (default 60 s). */
  readonly queueTimeoutMs?: number;
}

/**
 * Map any error to the ApiError the client sees (the one mapping of house style H19).
 * @example toApiError(new ContextWindowExceededError(5000, 4096)).status; // 400
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ModelTooLargeError) return new ModelUnavailableError(err.message);
  if (err instanceof ContextWindowExceededError) return new InvalidRequestError('messages', err.message, 'context_length_exceeded');
  if (err instanceof ChatTemplateError) return new InvalidRequestError('messages', err.message, 'invalid_messages');
  if (err instanceof InvalidOptionError) return new InvalidRequestError(err.option, err.message);
  if (err instanceof TokenOutOfRangeError) return new InvalidRequestError('prompt', err.message);
  if (err instanceof EdgetronError) return new ModelUnavailableError(err.message);
  return new InternalError(err);
}

/** A pack file name: config and tokenizer JSON, the index, shards (no path separators). */
const PACK_FILE = /^[\w-]+(\.[\w-]+)*\.(json|safetensors)$/;
/** Lets a cross-origin-isolated page (COEP require-corp) load the embed bundle and the pack. */
const CORP = { 'cross-origin-resource-policy': 'cross-origin' };

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/** Constant-time string comparison for the bearer key. */
function sameKey(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/**
 * Build the worker's Hono app.
 * @example
 * const app = createApp({ model: async () => served, apiKey: null });
 * const res = await app.request('/v1/models');
 */
export function createApp(options: AppOptions): Hono {
  const limiter = new ConcurrencyLimiter({
    limit: options.concurrency ?? 4,
    maxQueue: options.maxQueue ?? 16,
    retryAfterS: options.retryAfterS ?? 2,
    queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
  });
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = new Hono();

  app.onError((err, c) => {
    const api = toApiError(err);
    if (api.status >= 500) console.error(err);
    if (api instanceof RateLimitError) c.header('retry-after', String(api.retryAfterS));
    return c.json(api.toJSON(), api.status);
  });
  app.notFound((c) => {
    throw new RouteNotFoundError(c.req.method, c.req.path);
  });

  if (options.corsOrigin) {
    const origins = options.corsOrigin.split(',').map((s) => s.trim());
    app.use('*', cors({ origin: origins.includes('*') ? '*' : origins, allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: ['Retry-After'], maxAge: 600 }));
  }
  if (options.apiKey) {
    const key = options.apiKey;
    app.use('/v1/*', async function bearerKey(c, next) {
      if (c.req.method === 'OPTIONS') return next();
      const auth = c.req.header('authorization');
      if (!auth) throw new AuthenticationError('missing API key: send Authorization: Bearer <key>');
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !sameKey(m[1].trim(), key)) throw new AuthenticationError('incorrect API key');
      await next();
    });
  }

  // cross-origin isolated: the webgpu backend of the embed script needs SharedArrayBuffer
  app.get('/', (c) => c.html(DEMO_HTML, 200, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }));
  const embedAsset = async (c: Context) => {
    const assets = (c.env as { ASSETS?: AssetsBinding } | undefined)?.ASSETS;
    const res = assets ? await assets.fetch(new Request(c.req.url)) : null;
    if (!res?.ok) throw new RouteNotFoundError(c.req.method, c.req.path);
    return new Response(res.body, { headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream', 'cache-control': 'no-cache', ...CORP } });
  };
  app.get('/embed.js', embedAsset);
  app.get('/embed/:file', embedAsset);
  app.get('/v1/pack/:file', async (c) => {
    const file = c.req.param('file');
    const bytes = options.pack && PACK_FILE.test(file) ? await options.pack().read(file) : null;
    if (bytes === null) throw new RouteNotFoundError(c.req.method, c.req.path);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'cache-control': 'no-cache', ...CORP });
  });
  app.get('/health', async (c) => {
    const model = await options.model();
    await limiter.settle(); // count only live requests
    const { backend, kernelBuild } = model.session.model.ops as { backend: string; kernelBuild?: string }; // the wasm backend's build
    return c.json({ status: 'ok', model: model.id, backend, ...(kernelBuild ? { build: kernelBuild } : {}), running: limiter.running, queued: limiter.queued });
  });
  app.get('/v1/models', async (c) => {
    const model = await options.model();
    return c.json({ object: 'list', data: [{ id: model.id, object: 'model', created: model.created, owned_by: 'edgetron', max_context: model.maxContext }] });
  });
  app.get('/v1/backend', (c) => c.json({ server: serverBackend(), client: adviseClient(new URL(c.req.url), c.req.raw.headers) }));

  const complete = async (c: Context, parse: (body: Record<string, unknown>, model: ServedModel) => ChatRequest | CompletionRequest) => {
    const body = await readJsonBody(c.req.raw, maxBody, bodyTimeoutMs);
    const model = await options.model();
    const request = parse(body, model);
    const prepared = prepare(model, request);
    const meta: ResponseMeta = { id: `${request.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000), model: model.id };
    if (request.stream) {
      // The headers go out before the wait for a slot, so a client that leaves while queued is
      // noticed at once (under `wrangler dev` a disconnect shows only when a write fails).
      limiter.assertRoom();
      const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
      const queued = !limiter.free;
      const leave = new AbortController(); // the client went away (or cancelled) while queued
      c.req.raw.signal?.addEventListener('abort', () => leave.abort(c.req.raw.signal!.reason));
      const slot = limiter.acquire(leave.signal);
      slot.catch(() => {}); // a queue timeout is sent in the stream, by its first pull
      const control: StreamControl = { slot, queued, leave, start: (signal) => runChoices(model, prepared, signal), requestTimeoutMs, stallMs };
      return new Response(sseStream(request, meta, control, c.req.raw.signal), { headers: SSE_HEADERS });
    }
    const slot = await limiter.acquire(c.req.raw.signal);
    const abort = new AbortController();
    slot.onReap(() => abort.abort()); // the request died unheard: the abort frees its sequence
    c.req.raw.signal?.addEventListener('abort', () => abort.abort());
    const deadline = new Deadline(abort, requestTimeoutMs);
    const events = runChoices(model, prepared, abort.signal);
    try {
      const answer = new AnswerBuilder(request);
      for await (const ev of events) {
        if (ev.kind !== 'done') answer.add(ev);
        else if (deadline.expired) throw deadline.error();
        else return c.json(request.kind === 'chat' ? answer.chat(meta, ev.usage) : answer.text(meta, ev.usage));
      }
      throw new InternalError('generation ended without a result');
    } finally {
      deadline.clear();
      slot.release();
    }
  };

  app.post('/v1/chat/completions', (c) => complete(c, (body, m) => parseChatRequest(body, m.id, m.maxContext, options.testHooks === true)));
  app.post('/v1/completions', (c) => complete(c, (body, m) => parseCompletionRequest(body, m.id, m.maxContext)));
  registerMetricRoutes(app, { model: options.model, limiter, maxBody, bodyTimeoutMs, requestTimeoutMs });
  for (const [path, methods] of [
    ['/v1/chat/completions', ['POST']],
    ['/v1/completions', ['POST']],
    ['/v1/embeddings', ['POST']],
    ['/v1/classifiers', ['POST']],
    ['/v1/classify', ['POST']],
    ['/v1/models', ['GET']],
    ['/v1/backend', ['GET']],
    ['/health', ['GET']],
  ] as const) {
    app.all(path, (c) => {
      throw new RouteNotFoundError(c.req.method, path, methods);
    });
  }
  return app;
}

/** Default stall timeout of a stream (EDGETRON_STALL_TIMEOUT_S). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** Default longest wait for a generation slot (EDGETRON_QUEUE_TIMEOUT_S). */
export const DEFAULT_QUEUE_TIMEOUT_MS = 60_000;
/** Default per-request deadline (EDGETRON_REQUEST_TIMEOUT_S). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/** The per-request deadline: when it passes, the generation is aborted and reported as a timeout. */
class Deadline {
  expired = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    abort: AbortController,
    private readonly ms: number,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      abort.abort();
    }, ms);
  }

  error(): RequestTimeoutError {
    return new RequestTimeoutError(this.ms / 1000);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** The SSE comment a queued stream sends while it waits for its slot (clients skip comments). */
const QUEUED = new TextEncoder().encode(': queued\n\n');
const QUEUED_KEEPALIVE_MS = 250;

/** What a stream needs: its slot (granted or awaited), how to start its generation, its limits. */
interface StreamControl {
  /** The generation slot; the stream waits for it after its headers went out. */
  readonly slot: Promise<Slot>;
  /** The slot was not free at once: the stream sends QUEUED comments while it waits. */
  readonly queued: boolean;
  /** Aborting it takes the stream out of the queue. */
  readonly leave: AbortController;
  /** Start the generation, stopped by `signal`. */
  readonly start: (signal: AbortSignal) => AsyncGenerator<ChoiceEvent, void, undefined>;
  /** Longest the generation may run once it has its slot. */
  readonly requestTimeoutMs: number;
  /** Cancel when the client has not pulled for this long. */
  readonly stallMs: number;
}

/** A stream's generation once it has a slot. */
interface Running {
  readonly slot: Slot;
  readonly abort: AbortController;
  readonly deadline: Deadline;
  readonly events: AsyncGenerator<ChoiceEvent, void, undefined>;
}

/**
 * The SSE body: a role chunk per choice (chat), one chunk per delta and each choice's finish
 * chunk (by choice `index`; the `n` choices run in turn), the usage chunk when asked, then
 * `data: [DONE]`. The first pull waits for the slot (a queue timeout is sent as an error chunk).
 * Generation runs as the client reads (pull); a cancelled body, an aborted request (the client
 * went away), a client that stops reading for `stallMs` (a paused reader that never
 * disconnects) or a request the limiter's sweep found dead stops it and frees its sequence and
 * slot; an error mid-stream, or the request deadline, is sent as one final error chunk.
 */
function sseStream(request: ChatRequest | CompletionRequest, meta: ResponseMeta, control: StreamControl, clientSignal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const { stallMs } = control;
  const chat = request.kind === 'chat';
  let running: Running | null = null;
  let cancelled = false;
  let stall: ReturnType<typeof setTimeout> | undefined;
  const end = () => {
    clearTimeout(stall);
    running?.deadline.clear();
    running?.slot.release();
  };
  const finish = async (ctl: ReadableStreamDefaultController<Uint8Array>) => {
    end();
    if (!cancelled) ctl.close();
    await running?.events.return(undefined); // the generator waits after its last event: let it free the sequence
  };
  const stop = async () => {
    cancelled = true;
    if (!running) {
      control.leave.abort(); // cancelled while queued
      void control.slot.then((slot) => slot.release(), () => {});
    }
    running?.abort.abort();
    end();
    await running?.events.return(undefined);
  };
  clientSignal?.addEventListener('abort', () => void stop());
  /**
   * Wait for the slot and start the generation; false when the stream was cancelled meanwhile.
   * A queued stream sends a comment at once and every QUEUED_KEEPALIVE_MS: writes are how a
   * client that left the queue is noticed (a proxy learns of a closed socket when it writes).
   */
  const begin = async (ctl: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> => {
    let keepalive: ReturnType<typeof setInterval> | undefined;
    if (control.queued) {
      ctl.enqueue(QUEUED);
      keepalive = setInterval(() => cancelled || ctl.enqueue(QUEUED), QUEUED_KEEPALIVE_MS);
    }
    const slot = await control.slot.finally(() => clearInterval(keepalive));
    if (cancelled) {
      slot.release();
      return false;
    }
    const abort = new AbortController();
    slot.onReap(() => abort.abort()); // the request died unheard: the abort frees its sequence
    running = { slot, abort, deadline: new Deadline(abort, control.requestTimeoutMs), events: control.start(abort.signal) };
    return true;
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      clearTimeout(stall);
      // the client must pull again within stallMs, or the generation is cancelled
      const armStall = () => {
        stall = setTimeout(() => {
          if (cancelled) return;
          void stop();
          ctl.error(new StreamStalledError(stallMs / 1000));
        }, stallMs);
      };
      try {
        if (!running) {
          if (!(await begin(ctl))) return;
          if (chat) {
            for (let i = 0; i < request.n; i++) ctl.enqueue(sseData(chatChunk(meta, { role: 'assistant', content: '' }, null, i)));
            return armStall();
          }
        }
        const { events, deadline } = running!;
        const { value: ev, done } = await events.next();
        if (done || cancelled) return await finish(ctl);
        if (ev.kind !== 'done') {
          ctl.enqueue(sseData(choiceChunk(meta, request, ev)));
          return armStall();
        }
        if (deadline.expired) ctl.enqueue(sseError(deadline.error()));
        else {
          if (request.includeUsage) ctl.enqueue(sseData(usageChunk(meta, chat ? 'chat.completion.chunk' : 'text_completion', ev.usage)));
          ctl.enqueue(sseData('[DONE]'));
        }
        await finish(ctl);
      } catch (err) {
        const api = toApiError(err);
        if (api.status >= 500) console.error(err);
        if (!cancelled) ctl.enqueue(sseError(api));
        await finish(ctl);
      }
    },
    cancel: stop,
  });
}
