// `edgetron logits --model PATH --tokens 1,2,3 [--backend B]`: one prefill of all the tokens
// with every row of logits, printed as {"backend", "tokens", "logits": [[V floats] × T]}
// (DESIGN §5): the hook for parity checks against other implementations.

import { intOpt, stringOpt, tokenListOpt } from '../args.js';
import { resolveModelArg } from '../model-arg.js';
import { BACKEND_NAMES } from '../backends.js';
import type { Command } from '../command.js';
import { loadForCli } from '../load.js';
import { planReporter } from '../memory-plan.js';

/**
 * The `logits` command (dispatched by cli/main.ts).
 * @example
 * main(['logits', '--tokens', '1,2,3', '--backend', 'reference'], io);
 */
export const logitsCommand: Command = {
  name: 'logits',
  summary: 'print the logits of every position of a token sequence as JSON',
  help: `usage: edgetron logits [--model PATH] --tokens 1,2,3 [--backend B] [--shard-budget MIB]

Runs the tokens through the model in one forward call and prints
{"backend": B, "tokens": [...], "logits": [[...V floats...], ...]}, one row per position.

  --model PATH   checkpoint folder, .gguf, Hub ORG/NAME[@REV][:TAG] (see pull), or "default" (the default)
  --tokens IDS   comma-separated token ids
  --backend B    one of: ${BACKEND_NAMES.join(', ')} (default auto)
  --shard-budget MIB  wasm: split into shards of at most MIB MiB of weights, each in its own
                 thread and WASM memory (the logits are the same bits as unsplit)`,
  options: { model: { type: 'string' }, tokens: { type: 'string' }, backend: { type: 'string' }, 'shard-budget': { type: 'string' } },
  async run({ values }, io) {
    const tokens = tokenListOpt('logits', values, 'tokens');
    const shardMib = intOpt('logits', values, 'shard-budget', undefined, 1);
    const { session, choice, close } = await loadForCli(stringOpt(values, 'model'), stringOpt(values, 'backend'), {}, {
      resolveModel: (m) => resolveModelArg(m, io),
      requestedContext: tokens.length,
      report: planReporter(io.stderr, false),
      shardBudgetBytes: shardMib === undefined ? undefined : shardMib * 2 ** 20,
    });
    try {
      const { model } = session;
      const V = model.config.vocabSize;
      const logits = model.forward(model.newSequence(tokens.length), Int32Array.from(tokens), 'all'); // (T, V)
      io.stdout.write(`{"backend":${JSON.stringify(choice.name)},"tokens":${JSON.stringify(tokens)},"logits":[`);
      for (let t = 0; t < tokens.length; t++) {
        io.stdout.write(`${t > 0 ? ',' : ''}${JSON.stringify(Array.from(logits.subarray(t * V, (t + 1) * V)))}`);
      }
      io.stdout.write(']}\n');
    } finally {
      await close();
    }
  },
};
