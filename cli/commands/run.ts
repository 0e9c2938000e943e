// `edgetron run`: stream generated text to stdout (DESIGN §5). The prompt is encoded as is
// (a BOS only where tokenizer_config.json asks for one) or, with --chat, wrapped in the chat
// template as one user message (spec §15.2). With --stats the last stderr line is one JSON
// object of backend (and wasm kernel build), token counts, load time, prefill/decode rates and
// peak RSS (and, with --mtp K, the acceptance length of speculative decoding, spec §11).

import { requireText } from '../../engine/core/session.js';
import { generate, MAX_MTP, type DoneEvent } from '../../engine/decode/generate.js';
import { intOpt, kvDtypeOpt, numberOpt, stringOpt } from '../args.js';
import { BACKEND_NAMES } from '../backends.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { progressLine } from '../io.js';
import { resolveModelArg } from '../model-arg.js';
import { loadForCli } from '../load.js';
import { planReporter } from '../memory-plan.js';

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/**
 * The `run` command (dispatched by cli/main.ts).
 * @example
 * main(['run', '--prompt', 'Once upon a time', '--max-tokens', '16', '--stats'], io);
 */
export const runCommand: Command = {
  name: 'run',
  summary: 'generate text from a prompt, streamed to stdout',
  help: `usage: edgetron run [--model PATH] --prompt TEXT [--chat] [--no-think] [--max-tokens N]
                    [--temperature T] [--top-k K] [--top-p P] [--seed S] [--backend B] [--threads N] [--shard-budget MIB] [--kv-dtype f32|bf16] [--mtp K] [--stats]

Streams the continuation of TEXT to stdout. Before any weight is read, the memory plan (weights
as resident on the backend, state per token, the WASM and machine limits, the longest context
that fits) is printed on stderr when it is a terminal (one line with --stats), and a model that
cannot fit is refused with those numbers. On wasm, a model one 4 GiB WASM memory cannot hold is
split into shards of whole layers, each in its own worker thread and memory (the plan lists
them); a progress line shows the load on a terminal.

  --model PATH       checkpoint folder, .gguf, Hub ORG/NAME[@REV][:TAG] (see pull), or "default" (the default)
  --prompt TEXT      the prompt
  --chat             wrap the prompt in the chat template as one user message
  --no-think         with --chat: start the answer with an empty <think></think>
  --max-tokens N     most tokens to generate (default 128)
  --temperature T    0 = greedy (default 1)
  --top-k K          keep the K most probable tokens (default 0 = off)
  --top-p P          nucleus mass in (0, 1] (default 1 = off)
  --seed S           sampling seed (default 0)
  --backend B        one of: ${BACKEND_NAMES.join(', ')} (default auto)
  --threads N        wasm: threads for the linear products, a number or "auto" (the cores this
                     process may use); default $EDGETRON_THREADS, else 1. Outputs are the same
                     for any N; more than 1 needs the relaxed-SIMD build
  --shard-budget MIB wasm: split into shards of at most MIB MiB of weights each, even when one
                     memory would hold the model (default: split only when it would not, 3072)
  --kv-dtype T       wasm: the attention caches' element type, f32 (default) or bf16 (half the
                     bytes per token of context; each K and V element rounded once)
  --mtp K            speculative decoding: draft K tokens per step with the model's MTP block
                     and verify them in one pass (default 0 = off; same output distribution)
  --stats            end stderr with one JSON line: backend, wasm_build (wasm: relaxed, simd or
                     scalar; EDGETRON_WASM_BUILD forces one), wasm_threads, prompt_tokens, completion_tokens,
                     shards, load_ms, prefill_tok_s, decode_tok_s, peak_rss_mb (with --mtp: accept_len,
                     tokens per verification pass)`,
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    chat: { type: 'boolean' },
    'no-think': { type: 'boolean' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'shard-budget': { type: 'string' },
    'kv-dtype': { type: 'string' },
    mtp: { type: 'string' },
    stats: { type: 'boolean' },
  },
  async run({ values }, io) {
    const prompt = stringOpt(values, 'prompt');
    if (prompt === undefined) throw new UsageError('--prompt TEXT is required', 'run');
    if (values['no-think'] && !values.chat) throw new UsageError('--no-think needs --chat', 'run');
    const options = {
      maxTokens: intOpt('run', values, 'max-tokens', 128, 0),
      temperature: numberOpt('run', values, 'temperature', 1),
      topK: intOpt('run', values, 'top-k', 0, 0),
      topP: numberOpt('run', values, 'top-p', 1),
      seed: intOpt('run', values, 'seed', 0),
      mtp: intOpt('run', values, 'mtp', 0, 0, MAX_MTP) ?? 0,
    };
    const threads = stringOpt(values, 'threads') === 'auto' ? 'auto' : intOpt('run', values, 'threads', undefined, 1, 64);
    const kvDtype = kvDtypeOpt('run', values);
    // the memory plan: a block on a TTY, one line with --stats; at least one prompt token + --max-tokens must fit
    const report = planReporter(io.stderr, values.stats === true);
    const shardMib = intOpt('run', values, 'shard-budget', undefined, 1);
    const bar = io.stderr.isTTY ? progressLine(io, 'load') : null;
    const { session, choice, plan, close } = await loadForCli(stringOpt(values, 'model'), stringOpt(values, 'backend'), { threads, kvDtype }, {
      resolveModel: (m) => resolveModelArg(m, io),
      requestedContext: (options.maxTokens ?? 0) + 1,
      report,
      shardBudgetBytes: shardMib === undefined ? undefined : shardMib * 2 ** 20,
      onProgress: bar ? (done, total) => bar.update(done, total) : undefined,
    });
    bar?.end();
    try {
      if (options.mtp > 0 && !session.mtpLoaded) throw new UsageError(`--mtp ${options.mtp}: the model has no MTP block (mtp.* weights)`, 'run');
      const text = requireText(session);
      const bos = session.model.config.bosTokenId;
      const ids = values.chat
        ? text.encodeChat([{ role: 'user', content: prompt }], { enableThinking: !values['no-think'] })
        : [...(text.addBosToken && bos !== null ? [bos] : []), ...text.encode(prompt)];
      if (ids.length === 0) throw new UsageError('the prompt encodes to no tokens', 'run');
      let done: DoneEvent | undefined;
      for await (const ev of generate(session, ids, { ...options, maxContext: plan.maxContext })) {
        if (ev.kind === 'token') io.stdout.write(ev.text);
        else done = ev;
      }
      io.stdout.write(`${done?.text ?? ''}\n`);
      if (values.stats && done) {
        const { kernelBuild, threads: wasmThreads } = session.model.ops as { kernelBuild?: string; threads?: number }; // the wasm backend's build and threads
        const stats = {
          backend: choice.name,
          ...(kernelBuild ? { wasm_build: kernelBuild, wasm_threads: wasmThreads } : {}),
          shards: plan.shards.length,
          prompt_tokens: done.usage.promptTokens,
          completion_tokens: done.usage.completionTokens,
          load_ms: round(session.loadMs, 1),
          prefill_tok_s: round(done.timings.prefillTokPerS, 2),
          decode_tok_s: round(done.timings.decodeTokPerS, 2),
          peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
          ...(done.speculative ? { accept_len: round(done.speculative.acceptLen, 3) } : {}),
        };
        io.stderr.write(`backend: ${choice.name} (${choice.reason}); finish: ${done.finishReason}\n`);
        io.stderr.write(`${JSON.stringify(stats)}\n`);
      }
    } finally {
      await close();
    }
  },
};
