// `<edgetron-chat endpoint model mode="auto|local|remote" backend threads api-key max-tokens memory-budget-mb thinking="off">`: a chat web component. Where the
// model runs is decided once, when the element first needs it (choose.ts): a RemoteEngine
// (the worker's API) or a LocalEngine (a Web Worker in this tab). The UI streams tokens into
// the log, shows reasoning in a collapsible "thinking" section, and has stop and regenerate;
// a host page can drive it without the UI:
//   el.send(text, { maxTokens, thinking, temperature, seed, schema }) → Promise<{ text, reasoning, backend, finishReason }>
//   events: edgetron-token { kind, text }, edgetron-done { text, reasoning, backend, finishReason },
//           edgetron-progress { loaded, total, cached }, edgetron-ready { backend, reason, threads },
//           edgetron-notice { message }, edgetron-error { message }
//   el.backend: 'webgpu' | 'wasm' | 'wasm-scalar' | 'remote', or null before the engine is ready;
//   el.threads: the kernel threads of a local WASM model (threads="auto" | N, default auto), or null

import { SAFETENSORS_INDEX_FILE } from '../engine/formats/safetensors.js';
import { adviseBackend, autoChoice, forcedBackend, memoryBudget, parseMode, probeCapabilities } from './choose.js';
import { InvalidOptionError } from '../engine/core/errors.js';
import { threadCount } from '../assembly/backend/threads.js';
import { BusyError } from './errors.js';
import { LocalEngine } from './local.js';
import type { EmbedBackend, Engine, FinishReason, Progress, TokenKind, Turn } from './protocol.js';
import { RemoteEngine } from './remote.js';
import { MARKUP, STYLES } from './view.js';

/** Options of one `send`. */
export interface SendOptions {
  /** Most completion tokens (default: the max-tokens attribute, else 256). */
  readonly maxTokens?: number;
  /** false: no reasoning; true: reasoning without a budget; a number: the reasoning budget. Default: the UI's controls. */
  readonly thinking?: boolean | number;
  /** 0 = greedy; default: the engine's (1). */
  readonly temperature?: number;
  /** Sampling seed (same seed, same answer); default: a random one. */
  readonly seed?: number;
  /** A JSON Schema: the answer is a JSON document of it (enforced in decoding, local or remote). */
  readonly schema?: Readonly<Record<string, unknown>>;
}

export interface SendResult {
  readonly text: string;
  readonly reasoning: string;
  readonly backend: EmbedBackend;
  readonly finishReason: FinishReason;
}

const DEFAULT_MAX_TOKENS = 256;
const LABELS: Record<EmbedBackend, string> = { webgpu: 'WebGPU in this tab', wasm: 'WASM SIMD in this tab', 'wasm-scalar': 'WASM (no SIMD) in this tab', remote: 'the edge worker' };
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const folder = (url: string, base: string) => {
  const u = new URL(url, base);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
};

/**
 * The chat element (defined as <edgetron-chat> by index.ts).
 * @example
 * const el = document.querySelector('edgetron-chat');
 * el.addEventListener('edgetron-token', (e) => console.log(e.detail.kind, e.detail.text));
 * const { text, backend } = await el.send('Hello', { maxTokens: 64, thinking: false });
 */
export class EdgetronChat extends HTMLElement {
  static readonly observedAttributes = ['endpoint', 'model', 'mode', 'backend', 'threads', 'api-key', 'memory-budget-mb'];

  private readonly root: ShadowRoot;
  private engine: Promise<Engine> | null = null;
  private current: Engine | null = null;
  private abort: AbortController | null = null;
  private readonly history: Turn[] = [];
  private lastOptions: SendOptions = {};
  /** Why the engine runs where it does. */
  reason = '';

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${STYLES}</style>${MARKUP}`;
    const form = this.$<HTMLFormElement>('form');
    const input = this.$<HTMLTextAreaElement>('input');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text || this.abort) return;
      input.value = '';
      this.send(text).catch(() => undefined); // shown in the log and as edgetron-error
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    this.root.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Escape' && this.abort) this.stop();
    });
    this.$('stop').addEventListener('click', () => this.stop());
    this.$('regenerate').addEventListener('click', () => void this.regenerate().catch(() => undefined));
    const think = this.$<HTMLInputElement>('think');
    think.addEventListener('change', () => (this.$<HTMLInputElement>('budget').disabled = !think.checked));
  }

  private $<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.getElementById(id) as T;
  }

  /** The backend that runs the model, or null before the engine is ready. */
  get backend(): EmbedBackend | null {
    return this.current?.backend ?? null;
  }

  /** Threads the model's kernels run on (more than 1: WASM kernel threads in this tab), or null before the engine is ready. */
  get threads(): number | null {
    return this.current?.threads ?? null;
  }

  /** Whether a generation is running. */
  get busy(): boolean {
    return this.abort !== null;
  }

  connectedCallback(): void {
    // thinking="off": the Thinking control starts unchecked (for models not trained to reason)
    if (this.getAttribute('thinking') === 'off') {
      this.$<HTMLInputElement>('think').checked = false;
      this.$<HTMLInputElement>('budget').disabled = true;
    }
    void this.ready().catch(() => undefined); // shown in the status line and as edgetron-error
  }

  disconnectedCallback(): void {
    this.stop();
    this.reset();
  }

  attributeChangedCallback(_name: string, old: string | null, value: string | null): void {
    if (old !== value && this.engine) {
      this.reset();
      if (this.isConnected) void this.ready().catch(() => undefined);
    }
  }

  /** Drop the engine (the next use starts it again, e.g. after an attribute changed). */
  private reset(): void {
    const engine = this.engine;
    this.engine = null;
    this.current = null;
    void engine?.then((e) => e.dispose(), () => undefined);
  }

  /**
   * The engine, started on first use: remote, or the model downloaded and loaded in a Web Worker.
   * @example await el.ready(); el.backend; // 'wasm'
   */
  ready(): Promise<Engine> {
    if (this.engine) return this.engine;
    const started: Promise<Engine> = this.start().then(
      (engine) => {
        if (this.engine !== started) return engine; // reset meanwhile: reset() disposes it
        this.current = engine;
        this.status(`Running on ${LABELS[engine.backend]}${engine.threads > 1 ? `, ${engine.threads} threads` : ''} (${this.reason})`);
        this.fire('edgetron-ready', { backend: engine.backend, reason: this.reason, threads: engine.threads });
        return engine;
      },
      (e: Error) => {
        if (this.engine === started) this.engine = null;
        this.status(e.message, true);
        this.fire('edgetron-error', { name: e.name, message: e.message });
        throw e;
      },
    );
    this.engine = started;
    return started;
  }

  private async start(): Promise<Engine> {
    const base = new URL('./', import.meta.url).href;
    const endpoint = folder(this.getAttribute('endpoint') ?? base, location.href);
    const key = this.getAttribute('api-key');
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const mode = parseMode(this.getAttribute('mode'));
    if (mode === 'remote') {
      this.reason = 'mode="remote"';
      return RemoteEngine.connect(endpoint, headers);
    }
    this.status('Checking this device…');
    const packBase = this.hasAttribute('model') ? folder(this.getAttribute('model')!, location.href) : new URL('v1/pack/', endpoint).href;
    const caps = await probeCapabilities();
    const advice = forcedBackend(this.getAttribute('backend')) ?? (await adviseBackend(endpoint, caps, headers));
    const override = this.getAttribute('memory-budget-mb');
    const budget = memoryBudget(caps, advice.backend, override === null ? null : parseMemoryBudget(override));
    let backend: EmbedBackend = advice.backend;
    this.reason = advice.reason;
    if (mode === 'auto') {
      ({ backend, reason: this.reason } = autoChoice(advice, await shardBytes(packBase, headers), budget.bytes));
      if (backend === 'remote') return RemoteEngine.connect(endpoint, headers);
    }
    this.status(`Loading the model for ${LABELS[backend]}…`);
    const engine = await LocalEngine.start({
      packBase,
      assetBase: new URL('embed/', base).href,
      backend: backend as Exclude<EmbedBackend, 'remote'>,
      headers,
      memoryBudget: budget.bytes,
      memorySource: budget.source,
      threads: parseThreads(this.getAttribute('threads')),
      onProgress: (p) => this.progress(p),
      onNotice: (e) => {
        this.status(e.message, true);
        this.fire('edgetron-notice', { name: e.name, message: e.message });
      },
    });
    if (engine.backend !== backend) this.reason = engine.reason;
    return engine;
  }

  /**
   * Send a user message and stream the answer; resolves when it is done (or stopped).
   * @example const { text, reasoning, backend } = await el.send('Hi', { maxTokens: 64, thinking: false });
   */
  async send(text: string, options: SendOptions = {}): Promise<SendResult> {
    if (this.abort) throw new BusyError();
    this.history.push({ role: 'user', content: text });
    this.addTurn('user').textContent = text;
    return this.answer(options);
  }

  /**
   * Answer the last user message again (drops the last answer).
   * @example await el.regenerate();
   */
  regenerate(options: SendOptions = this.lastOptions): Promise<SendResult> {
    if (this.abort) return Promise.reject(new BusyError());
    if (this.history.at(-1)?.role === 'assistant') {
      this.history.pop();
      this.$('log').lastElementChild?.remove();
    }
    return this.answer(options);
  }

  /** Stop the running generation (its `send` resolves with finishReason 'abort'). */
  stop(): void {
    this.abort?.abort();
  }

  private async answer(options: SendOptions): Promise<SendResult> {
    this.lastOptions = options;
    const abort = new AbortController();
    this.abort = abort;
    this.setBusy(true);
    const turn = this.addTurn('assistant');
    const details = turn.appendChild(document.createElement('details'));
    details.className = 'thinking';
    details.hidden = true;
    details.open = true;
    details.innerHTML = '<summary>Thinking</summary>';
    const thought = details.appendChild(document.createElement('div'));
    const said = turn.appendChild(document.createElement('div'));
    let text = '';
    let reasoning = '';
    try {
      const engine = await this.ready();
      const { thinking, thinkingBudget } = this.thinkingOf(options);
      const onToken = (kind: TokenKind, piece: string) => {
        if (kind === 'reasoning') {
          reasoning += piece;
          details.hidden = false;
          thought.textContent = reasoning;
        } else {
          if (!text && reasoning) details.open = false;
          text += piece;
          said.textContent = text;
        }
        this.fire('edgetron-token', { kind, text: piece });
      };
      const maxTokens = options.maxTokens ?? Number(this.getAttribute('max-tokens') ?? DEFAULT_MAX_TOKENS);
      const finishReason = await engine.generate({ messages: [...this.history], maxTokens, thinking, thinkingBudget, temperature: options.temperature, seed: options.seed, schema: options.schema }, onToken, abort.signal);
      this.history.push({ role: 'assistant', content: text });
      const result = { text, reasoning, backend: engine.backend, finishReason };
      this.fire('edgetron-done', result);
      return result;
    } catch (e) {
      const err = e as Error;
      said.className = 'error';
      said.textContent = err.message;
      this.fire('edgetron-error', { name: err.name, message: err.message });
      throw err;
    } finally {
      this.abort = null;
      this.setBusy(false);
    }
  }

  private thinkingOf(options: SendOptions): { thinking: boolean; thinkingBudget: number | null } {
    if (typeof options.thinking === 'number') return { thinking: true, thinkingBudget: options.thinking };
    if (typeof options.thinking === 'boolean') return { thinking: options.thinking, thinkingBudget: null };
    const budget = this.$<HTMLInputElement>('budget').value;
    return { thinking: this.$<HTMLInputElement>('think').checked, thinkingBudget: budget === '' ? null : Number(budget) };
  }

  private addTurn(role: Turn['role']): HTMLElement {
    const li = document.createElement('li');
    li.className = `turn ${role}`;
    li.setAttribute('aria-label', role === 'user' ? 'You' : 'Assistant');
    this.$('log').append(li);
    li.scrollIntoView({ block: 'end' });
    return li;
  }

  private setBusy(busy: boolean): void {
    const focused = this.root.activeElement;
    this.$<HTMLButtonElement>('send').disabled = busy;
    this.$<HTMLButtonElement>('stop').disabled = !busy;
    this.$<HTMLButtonElement>('regenerate').disabled = busy || !this.history.some((t) => t.role === 'user');
    this.toggleAttribute('busy', busy);
    // keep the keyboard where it was: Stop while running, the message box after
    if (busy && focused?.id === 'send') this.$('stop').focus();
    if (!busy && (focused?.id === 'stop' || focused?.id === 'send')) this.$('input').focus();
  }

  private status(message: string, error = false): void {
    const el = this.$('status');
    el.textContent = message;
    el.classList.toggle('error', error);
  }

  private progress(p: Progress): void {
    const pct = p.total > 0 ? Math.floor((100 * p.loaded) / p.total) : 100;
    this.$('download').hidden = false;
    this.$<HTMLProgressElement>('progress').value = pct;
    this.$('progress-text').textContent = `${mib(p.loaded)} of ${mib(p.total)} (${pct}%)${p.cached > 0 ? `, ${mib(p.cached)} from the cache` : ''}`;
    this.fire('edgetron-progress', p);
  }

  private fire(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

/** The threads attribute, checked: 'auto' (also when absent) or a whole number from 1 to 64. */
function parseThreads(text: string | null): number | 'auto' {
  if (text === null || text === 'auto') return 'auto';
  return threadCount(text, 'threads', 1);
}

/** The memory-budget-mb attribute, checked. */
function parseMemoryBudget(text: string): number {
  const mb = Number(text);
  if (!(Number.isFinite(mb) && mb > 0)) throw new InvalidOptionError('memory-budget-mb', text, 'a positive number of MiB');
  return mb;
}

/** Bytes of the pack's shards (from its index), or null when it cannot be read. */
async function shardBytes(packBase: string, headers: Readonly<Record<string, string>>): Promise<number | null> {
  try {
    const res = await fetch(new URL(SAFETENSORS_INDEX_FILE, packBase), { headers });
    if (!res.ok) return null;
    const index = (await res.json()) as { shards?: Record<string, { size?: number }> };
    return Object.values(index.shards ?? {}).reduce((s, i) => s + (i.size ?? 0), 0);
  } catch {
    return null;
  }
}
