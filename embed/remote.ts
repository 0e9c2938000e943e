// Remote mode: the worker's OpenAI API (DESIGN §6). POST /v1/chat/completions with
// stream: true; the SSE body is read as it arrives (`data: {chunk}` … `data: [DONE]`), and
// `delta.reasoning_content` / `delta.content` become reasoning / content tokens. stop() aborts
// the fetch, which makes the worker stop generating at once.

import { RemoteApiError } from './errors.js';
import { chatBody, type Engine, type FinishReason, type GenerateRequest, type TokenKind } from './protocol.js';

interface ChunkLike {
  readonly error?: { readonly message?: string };
  readonly choices?: readonly { readonly delta?: { readonly content?: string; readonly reasoning_content?: string }; readonly finish_reason?: FinishReason | null }[];
}

async function apiError(res: Response): Promise<RemoteApiError> {
  const body = (await res.json().catch(() => null)) as ChunkLike | null;
  return new RemoteApiError(res.status, body?.error?.message ?? res.statusText);
}

/** The worker's API as an Engine. */
export class RemoteEngine implements Engine {
  readonly backend = 'remote';
  readonly threads = 1;

  private constructor(
    private readonly endpoint: string,
    private readonly model: string,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  /**
   * Connect: reads the served model's id from GET /v1/models.
   * @example const engine = await RemoteEngine.connect('https://edgetron.example/', {});
   */
  static async connect(endpoint: string, headers: Readonly<Record<string, string>>): Promise<RemoteEngine> {
    const res = await fetch(new URL('v1/models', endpoint), { headers });
    if (!res.ok) throw await apiError(res);
    const models = (await res.json()) as { data: { id: string }[] };
    return new RemoteEngine(endpoint, models.data[0].id, headers);
  }

  async generate(request: GenerateRequest, onToken: (kind: TokenKind, text: string) => void, signal: AbortSignal): Promise<FinishReason> {
    let finish: FinishReason = 'abort';
    try {
      const res = await fetch(new URL('v1/chat/completions', this.endpoint), {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json' },
        body: JSON.stringify(chatBody(this.model, request, true)),
        signal,
      });
      if (!res.ok || !res.body) throw await apiError(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return finish;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
          const chunk = JSON.parse(event.slice(6)) as ChunkLike;
          if (chunk.error) throw new RemoteApiError(200, chunk.error.message ?? 'the stream failed');
          const choice = chunk.choices?.[0];
          if (choice?.delta?.reasoning_content) onToken('reasoning', choice.delta.reasoning_content);
          if (choice?.delta?.content) onToken('content', choice.delta.content);
          if (choice?.finish_reason) finish = choice.finish_reason;
        }
      }
    } catch (e) {
      if (signal.aborted) return 'abort';
      throw e;
    }
  }

  dispose(): void {}
}
