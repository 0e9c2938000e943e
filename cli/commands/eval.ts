// `edgetron eval --model PATH --text FILE [--backend B] [--context N]` and
// `edgetron eval --trigram TRAINFILE --text FILE`: bits per byte and perplexity of a text as one
// JSON line {"tokens", "bytes", "bits_per_byte", "perplexity"} (lab/eval.ts,
// docs/models.md).

import { DEFAULT_CONTEXT, evaluateModel, evaluateTrigram, readEvalText } from '../../lab/eval.js';
import { intOpt, requiredOpt, stringOpt } from '../args.js';
import { resolveModelArg } from '../model-arg.js';
import { BACKEND_NAMES } from '../backends.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { loadForCli } from '../load.js';
import { planReporter } from '../memory-plan.js';

/**
 * The `eval` command (dispatched by cli/main.ts).
 * @example
 * main(['eval', '--model', 'default', '--text', 'assets/corpus/heldout.txt'], io);
 */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'bits per byte and perplexity of a text under a model (or the trigram baseline)',
  help: `usage: edgetron eval [--model PATH] --text FILE [--backend B] [--context N]
       edgetron eval --trigram TRAINFILE --text FILE

Prints {"tokens", "bytes", "bits_per_byte", "perplexity"} for the text of FILE.
The text is tokenised whole with the model's tokenizer, BOS is put in front, and every
token is scored given the previous ones within windows of N tokens (a fresh sequence per
window). bits_per_byte = sum of NLL (nats) / ln 2 / UTF-8 bytes of FILE;
perplexity = exp(sum of NLL / tokens).

  --model PATH         checkpoint folder, .gguf, Hub ORG/NAME[@REV][:TAG] (see pull), or "default" (the default)
  --text FILE          the text to score (UTF-8)
  --backend B          one of: ${BACKEND_NAMES.join(', ')} (default auto)
  --context N          window length in tokens (default ${DEFAULT_CONTEXT}, at most the model's maximum)
  --trigram TRAINFILE  instead of a model: a byte-level trigram model with interpolated
                       Kneser-Ney smoothing fitted on TRAINFILE; its tokens are bytes`,
  options: { model: { type: 'string' }, text: { type: 'string' }, backend: { type: 'string' }, context: { type: 'string' }, trigram: { type: 'string' } },
  async run({ values }, io) {
    const file = requiredOpt('eval', values, 'text');
    const context = intOpt('eval', values, 'context', undefined, 1);
    const trigram = stringOpt(values, 'trigram');
    if (trigram !== undefined) {
      for (const name of ['model', 'backend', 'context']) {
        if (values[name] !== undefined) throw new UsageError(`--trigram scores with the trigram baseline; --${name} does not apply`, 'eval');
      }
      const [train, text] = await Promise.all([readEvalText(trigram), readEvalText(file)]);
      io.stdout.write(`${JSON.stringify(evaluateTrigram(train, text))}\n`);
      return;
    }
    const text = await readEvalText(file);
    const { session, close } = await loadForCli(stringOpt(values, 'model'), stringOpt(values, 'backend'), {}, { requestedContext: context ?? DEFAULT_CONTEXT, report: planReporter(io.stderr, false), resolveModel: (m) => resolveModelArg(m, io) });
    try {
      const result = evaluateModel(session, text, {
        context,
        onProgress: (done, total) => {
          if (io.stderr.isTTY) io.stderr.write(`\reval: ${done}/${total} tokens${done === total ? '\n' : ''}`);
        },
      });
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      await close();
    }
  },
};
