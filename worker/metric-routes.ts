// docs/metric-learning.md: embeddings and request classification over the served model.
//   POST /v1/embeddings   OpenAI-compatible; each input's mean-pooled final hidden state (d).
//   POST /v1/classifiers  labelled examples → embeddings → a Monte Carlo NCA metric, stored in
//                         the Workers KV namespace bound as CLASSIFIERS (miniflare locally).
//   POST /v1/classify     a stored classifier's label, score (NCA probability) and nearest examples.
// Limits below are checked before any model work; every violation is a 4xx from ApiError. The
// model work runs in one of the app's generation slots (queue.ts), like a generation: queued,
// 429 when the queue is full, stopped at the request deadline, and the isolate keeps serving
// other requests between texts.

import type { Context, Hono } from 'hono';
import { classifyRows, fitLinearMetric } from '../engine/metric/classifier.js';
import { meanPooledEmbedding } from '../engine/metric/embedding.js';
import { applyMetric, metricFromJson, metricToJson } from '../engine/metric/linear-metric.js';
import { requireText } from '../engine/core/session.js';
import { yieldToEventLoop } from '../engine/decode/generate.js';
import { ClassifierNotFoundError, InternalError, InvalidRequestError, ModelNotFoundError, ModelUnavailableError, RequestTimeoutError } from '../serve/errors.js';
import type { ConcurrencyLimiter, Slot } from '../serve/queue.js';
import type { ServedModel } from '../serve/run.js';
import { readJsonBody } from '../serve/validate.js';

export const MAX_EMBEDDING_INPUTS = 64; // texts per /v1/embeddings or /v1/classify request
export const MAX_INPUT_CHARS = 4000; // characters per text
export const MAX_EXAMPLES = 128; // a fit costs O(n²) per proposal, d² proposals per sweep
export const MIN_EXAMPLES = 4;
export const MAX_LABEL_CHARS = 64;
export const MAX_SWEEPS = 40;
export const DEFAULT_SWEEPS = 8;
export const MAX_K = 15; // neighbours
/** Classifiers expire from KV after 30 days. */
const CLASSIFIER_TTL_S = 30 * 24 * 3600;
const KEY_PREFIX = 'classifier:';

/** The slice of a Workers KV namespace these routes use. */
export interface KvBinding {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

/** A classifier as stored in KV. */
interface StoredClassifier {
  readonly id: string;
  readonly model: string;
  readonly created: number;
  readonly k: number;
  readonly labels: readonly string[];
  readonly examples: readonly { readonly text: string; readonly label: number }[];
  readonly metric: Record<string, unknown>;
  readonly z: readonly number[]; // (n, r): the examples in the metric space
}

type Json = Record<string, unknown>;

function checkModel(body: Json, served: ServedModel): void {
  if (body.model !== undefined && body.model !== served.id) throw new ModelNotFoundError(String(body.model), served.id);
}

/** A string or a non-empty array of strings, each non-empty and at most MAX_INPUT_CHARS. */
function textList(value: unknown, param: string, max: number): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new InvalidRequestError(param, `${param} must be a string or a non-empty array of strings`);
  if (list.length > max) throw new InvalidRequestError(param, `${param} has ${list.length} items; at most ${max} are allowed`);
  list.forEach((t, i) => {
    if (typeof t !== 'string') throw new InvalidRequestError(`${param}[${i}]`, `${param}[${i}] must be a string`);
    if (t.trim() === '') throw new InvalidRequestError(`${param}[${i}]`, `${param}[${i}] is empty`);
    if (t.length > MAX_INPUT_CHARS) throw new InvalidRequestError(`${param}[${i}]`, `${param}[${i}] has ${t.length} characters; at most ${MAX_INPUT_CHARS} are allowed`);
  });
  return list as string[];
}

function intField(body: Json, name: string, fallback: number, min: number, max: number): number {
  const v = body[name];
  if (v === undefined) return fallback;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) throw new InvalidRequestError(name, `${name} must be an integer in [${min}, ${max}]`);
  return v;
}

/**
 * Embeddings (n, d) of `texts`, and the tokens they took; each text must fit the context. The
 * isolate serves other requests between texts, and the work stops at `deadline` (a 504).
 */
async function embedTexts(served: ServedModel, texts: readonly string[], param: string, deadline: WorkDeadline): Promise<{ x: Float64Array; d: number; tokens: number }> {
  const { model } = served.session;
  const codec = requireText(served.session);
  const d = model.config.dModel;
  const ids = texts.map((t, i) => {
    const tokens = codec.encode(t);
    if (tokens.length > served.maxContext) throw new InvalidRequestError(`${param}[${i}]`, `${param}[${i}] has ${tokens.length} tokens; the context limit is ${served.maxContext}`, 'context_length_exceeded');
    return Int32Array.from(tokens);
  });
  const x = new Float64Array(texts.length * d);
  for (const [i, t] of ids.entries()) {
    await yieldToEventLoop();
    deadline.check();
    x.set(meanPooledEmbedding(model, t), i * d);
  }
  return { x, d, tokens: ids.reduce((s, t) => s + t.length, 0) };
}

function classifierStore(c: Context): KvBinding {
  const kv = (c.env as { CLASSIFIERS?: KvBinding } | undefined)?.CLASSIFIERS;
  if (!kv) throw new ModelUnavailableError('no KV namespace is bound as CLASSIFIERS (wrangler.toml [[kv_namespaces]])');
  return kv;
}

/** Where the routes get the model, their slots and their limits (app.ts). */
export interface MetricRouteOptions {
  readonly model: () => Promise<ServedModel>;
  /** The app's generation slots: model work of every route shares them. */
  readonly limiter: ConcurrencyLimiter;
  readonly maxBody: number;
  readonly bodyTimeoutMs: number;
  /** Longest the model work of one request may run (then 504). */
  readonly requestTimeoutMs: number;
}

/** The request's deadline for model work, and its slot's fate: checked between steps. */
class WorkDeadline {
  private readonly end: number;
  constructor(
    private readonly ms: number,
    private readonly slot: Slot,
  ) {
    this.end = Date.now() + ms;
  }
  check(): void {
    if (this.slot.reaped) throw new InternalError('the request went away');
    if (Date.now() > this.end) throw new RequestTimeoutError(this.ms / 1000);
  }
}

/**
 * Add the embedding and classifier routes to the worker's app.
 * @example
 * registerMetricRoutes(app, { model: () => servedModel(env), limiter, maxBody: MAX_BODY_BYTES, bodyTimeoutMs: 10_000, requestTimeoutMs: 300_000 });
 */
export function registerMetricRoutes(app: Hono, options: MetricRouteOptions): void {
  const { model, limiter, maxBody, bodyTimeoutMs } = options;
  /** Run `work` in a generation slot, after the requests ahead of it. */
  const inSlot = async <T>(c: Context, work: (deadline: WorkDeadline) => Promise<T>): Promise<T> => {
    const slot = await limiter.acquire(c.req.raw.signal);
    try {
      return await work(new WorkDeadline(options.requestTimeoutMs, slot));
    } finally {
      slot.release();
    }
  };
  app.post('/v1/embeddings', async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody, bodyTimeoutMs);
    const served = await model();
    checkModel(body, served);
    if (body.encoding_format !== undefined && body.encoding_format !== 'float') throw new InvalidRequestError('encoding_format', 'encoding_format must be "float"');
    const texts = textList(body.input, 'input', MAX_EMBEDDING_INPUTS);
    const { x, d, tokens } = await inSlot(c, (deadline) => embedTexts(served, texts, 'input', deadline));
    return c.json({
      object: 'list',
      data: texts.map((_, i) => ({ object: 'embedding', index: i, embedding: Array.from(x.subarray(i * d, (i + 1) * d)) })),
      model: served.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });

  app.post('/v1/classifiers', async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody, bodyTimeoutMs);
    const kv = classifierStore(c);
    const served = await model();
    checkModel(body, served);
    const examples = body.examples;
    if (!Array.isArray(examples) || examples.length < MIN_EXAMPLES || examples.length > MAX_EXAMPLES) {
      throw new InvalidRequestError('examples', `examples must be an array of ${MIN_EXAMPLES} to ${MAX_EXAMPLES} {"text", "label"} objects`);
    }
    const labels: string[] = [];
    const rows = examples.map((e, i) => {
      const ex = e as Json;
      if (typeof ex !== 'object' || ex === null || typeof ex.label !== 'string' || ex.label === '' || ex.label.length > MAX_LABEL_CHARS) {
        throw new InvalidRequestError(`examples[${i}].label`, `examples[${i}].label must be a non-empty string of at most ${MAX_LABEL_CHARS} characters`);
      }
      const [text] = textList(ex.text, `examples[${i}].text`, 1);
      if (!labels.includes(ex.label)) labels.push(ex.label);
      return { text, label: labels.indexOf(ex.label) };
    });
    if (labels.length < 2) throw new InvalidRequestError('examples', 'examples need at least 2 distinct labels');
    const k = intField(body, 'k', 3, 1, Math.min(MAX_K, rows.length - 1));
    const sweeps = intField(body, 'sweeps', DEFAULT_SWEEPS, 1, MAX_SWEEPS);
    const seed = intField(body, 'seed', 0, 0, 2 ** 31 - 1);
    const y = Int32Array.from(rows, (r) => r.label);
    const { x, metric, fit } = await inSlot(c, async (deadline) => {
      const { x, d } = await embedTexts(served, rows.map((r) => r.text), 'examples.text', deadline);
      await yieldToEventLoop();
      deadline.check();
      return { x, ...fitLinearMetric(x, rows.length, d, y, { sweeps, seed }) };
    });
    const stored: StoredClassifier = {
      id: `clf-${crypto.randomUUID().replace(/-/g, '')}`,
      model: served.id,
      created: Math.floor(Date.now() / 1000),
      k,
      labels,
      examples: rows,
      metric: metricToJson(metric),
      z: Array.from(applyMetric(metric, x, rows.length)),
    };
    await kv.put(KEY_PREFIX + stored.id, JSON.stringify(stored), { expirationTtl: CLASSIFIER_TTL_S });
    return c.json(
      {
        id: stored.id,
        object: 'classifier',
        created: stored.created,
        model: served.id,
        labels,
        examples: rows.length,
        k,
        dim: metric.r,
        energy: { initial: fit.run.initialEnergy, final: fit.run.bestEnergy },
      },
      201,
    );
  });

  app.post('/v1/classify', async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody, bodyTimeoutMs);
    const kv = classifierStore(c);
    if (typeof body.classifier !== 'string' || !/^clf-[0-9a-f]{32}$/.test(body.classifier)) throw new InvalidRequestError('classifier', 'classifier must be an id returned by POST /v1/classifiers');
    const texts = textList(body.input, 'input', MAX_EMBEDDING_INPUTS);
    const raw = await kv.get(KEY_PREFIX + body.classifier);
    if (raw === null) throw new ClassifierNotFoundError(body.classifier);
    const clf = JSON.parse(raw) as StoredClassifier;
    const served = await model();
    if (clf.model !== served.id) throw new ModelNotFoundError(clf.model, served.id);
    const k = intField(body, 'k', clf.k, 1, Math.min(MAX_K, clf.examples.length));
    const metric = metricFromJson(clf.metric, clf.id);
    const { x } = await inSlot(c, (deadline) => embedTexts(served, texts, 'input', deadline));
    const y = Int32Array.from(clf.examples, (e) => e.label);
    const predictions = classifyRows(metric, Float64Array.from(clf.z), y, x, texts.length, k);
    return c.json({
      object: 'list',
      classifier: clf.id,
      model: served.id,
      data: predictions.map((p, i) => ({
        index: i,
        label: clf.labels[p.label],
        score: p.score,
        neighbors: p.neighbours.map((nb) => ({ text: clf.examples[nb.index].text, label: clf.labels[clf.examples[nb.index].label], distance: nb.distance })),
      })),
    });
  });
}
