// Local mode, the page's side: the engine worker (engine-worker.ts, built as embed/engine.js)
// is fetched only now, started as a module Worker from a blob URL (a Worker script must be
// same-origin; the blob is, wherever embed.js came from), and driven by the protocol of
// protocol.ts. Load progress and notices go to the callbacks; generate/stop map to messages.

import { errorFromWire, type Engine, type FinishReason, type FromEngine, type GenerateRequest, type LoadOptions, type Progress, type TokenKind, chatBody, LOCAL_MODEL_ID } from './protocol.js';
import type { ClientBackend } from '../serve/backend-choice.js';
import { DownloadError } from './errors.js';

export interface LocalStartOptions extends LoadOptions {
  readonly onProgress: (p: Progress) => void;
  readonly onNotice: (e: Error) => void;
}

interface Pending {
  readonly onToken: (kind: TokenKind, text: string) => void;
  readonly resolve: (f: FinishReason) => void;
  readonly reject: (e: Error) => void;
}

/** The model in a Web Worker as an Engine. */
export class LocalEngine implements Engine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    readonly backend: ClientBackend,
    /** Why this backend runs. */
    readonly reason: string,
    readonly threads: number,
  ) {}

  /**
   * Fetch the engine worker, download and load the pack; resolves once the model is ready.
   * @example const engine = await LocalEngine.start({ packBase, assetBase, backend: 'wasm', headers: {}, memoryBudget: 2 ** 31, memorySource: '…', onProgress, onNotice });
   */
  static async start(options: LocalStartOptions): Promise<LocalEngine> {
    const url = new URL('engine.js', options.assetBase).href;
    const res = await fetch(url).catch((e: Error) => {
      throw new DownloadError(url, e.message);
    });
    if (!res.ok) throw new DownloadError(url, `HTTP ${res.status}`);
    const blob = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: 'text/javascript' }));
    const worker = new Worker(blob, { type: 'module', name: 'edgetron-engine' });
    const { onProgress, onNotice, ...load } = options;
    let engine: LocalEngine | null = null;
    return new Promise<LocalEngine>((resolve, reject) => {
      worker.onerror = (e) => {
        const err = new Error(`the engine worker failed: ${e.message}`);
        if (engine) engine.failAll(err);
        else reject(err);
      };
      worker.onmessage = (e: MessageEvent<FromEngine>) => {
        const m = e.data;
        switch (m.kind) {
          case 'progress':
            return onProgress(m.progress);
          case 'notice':
            return onNotice(errorFromWire(m.error));
          case 'ready':
            engine = new LocalEngine(worker, m.backend, m.reason, m.threads);
            return resolve(engine);
          case 'token':
            return engine?.pending.get(m.id)?.onToken(m.token, m.text);
          case 'done':
            engine?.pending.get(m.id)?.resolve(m.finishReason);
            return void engine?.pending.delete(m.id);
          case 'failed':
            if (m.id === 0) {
              worker.terminate();
              return reject(errorFromWire(m.error));
            }
            engine?.pending.get(m.id)?.reject(errorFromWire(m.error));
            return void engine?.pending.delete(m.id);
        }
      };
      worker.postMessage({ kind: 'load', id: 0, options: load });
    }).finally(() => URL.revokeObjectURL(blob));
  }

  generate(request: GenerateRequest, onToken: (kind: TokenKind, text: string) => void, signal: AbortSignal): Promise<FinishReason> {
    const id = this.nextId++;
    return new Promise<FinishReason>((resolve, reject) => {
      this.pending.set(id, { onToken, resolve, reject });
      signal.addEventListener('abort', () => this.worker.postMessage({ kind: 'stop', id }), { once: true });
      this.worker.postMessage({ kind: 'generate', id, body: chatBody(LOCAL_MODEL_ID, request, false) });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  dispose(): void {
    this.failAll(new Error('the engine was disposed'));
    this.worker.terminate();
  }
}
