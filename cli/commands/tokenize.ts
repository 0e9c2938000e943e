// `edgetron tokenize --model PATH --text TEXT`: the ids of TEXT as a JSON array, no BOS (DESIGN §5).

import { MissingTokenizerError } from '../../engine/core/errors.js';
import { TextCodec } from '../../engine/text/text.js';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { requiredOpt, stringOpt } from '../args.js';
import type { Command } from '../command.js';
import { resolveModelArg } from '../model-arg.js';

/**
 * The `tokenize` command (dispatched by cli/main.ts).
 * @example
 * main(['tokenize', '--model', 'default', '--text', 'Hello'], io); // prints [..ids..]
 */
export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'print the token ids of a text as a JSON array (no BOS)',
  help: `usage: edgetron tokenize [--model PATH] --text TEXT

Prints the ids of TEXT as a JSON array. No BOS is added; special-token strings such as
<|im_end|> in the text map to their ids.

  --model PATH   checkpoint folder, .gguf, Hub ORG/NAME[@REV][:TAG] (see pull), or "default" (the default)
  --text TEXT    the text to tokenize`,
  options: { model: { type: 'string' }, text: { type: 'string' } },
  async run({ values }, io) {
    const input = requiredOpt('tokenize', values, 'text');
    const ckpt = await openCheckpoint(resolveModelPath(await resolveModelArg(stringOpt(values, 'model'), io)));
    try {
      if (ckpt.tokenizerJson === null) throw new MissingTokenizerError(ckpt.path);
      const text = TextCodec.fromJson(ckpt.tokenizerJson, ckpt.tokenizerConfig, ckpt.path);
      io.stdout.write(`${JSON.stringify(text.encode(input))}\n`);
    } finally {
      await ckpt.store.close();
    }
  },
};
