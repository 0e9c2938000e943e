// `edgetron pull ORG/NAME[@REVISION][:TAG]`: fetch a model from the Hugging Face Hub into the
// cache huggingface_hub and transformers share (weights-tools/hub/), and print its local path.

import { HubRefError } from '../../weights-tools/errors.js';
import { parseHubRef } from '../../weights-tools/hub/pull.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { pullForCli } from '../model-arg.js';

/**
 * The `pull` command (dispatched by cli/main.ts).
 * @example
 * main(['pull', 'unsloth/Nemotron-3-Nano-30B-A3B-GGUF:Q4_K_M'], io); // prints the .gguf's path
 */
export const pullCommand: Command = {
  name: 'pull',
  summary: 'download a model from the Hugging Face Hub into its cache and print the local path',
  help: `usage: edgetron pull ORG/NAME[@REVISION][:TAG]

Downloads what edgetron needs of a Hugging Face Hub model into the Hugging Face cache
($HF_HUB_CACHE, default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface), in the layout
huggingface_hub and transformers use, so a model either of them fetched is not fetched again.
Prints the local path to open (the snapshot folder, or the .gguf file). Any --model PATH (and
convert IN, inspect PATH) also takes ORG/NAME[@REVISION][:TAG].

  safetensors repositories  *.safetensors (the shards the index names), the index, config.json,
                            tokenizer.json, tokenizer_config.json, generation_config.json,
                            hf_quant_config.json, chat_template.jinja
  GGUF repositories         the one .gguf whose quantisation TAG is given (Q4_K_M, Q8_0,
                            UD-Q4_K_XL, … matched case-insensitively in the file name)

Downloads resume where they broke off (blobs/<etag>.incomplete) and LFS files are checked
against their sha256. pull always asks the Hub for the revision's current commit; --model uses
a complete cached snapshot without a request.

environment:
  HF_ENDPOINT     the Hub's address (default https://huggingface.co)
  HF_TOKEN        access token for gated or private repositories (NVIDIA's gated models)
  HF_HUB_OFFLINE  1: use the cache only, never the network`,
  options: {},
  maxPositionals: 1,
  async run({ positionals }, io) {
    if (positionals.length === 0) throw new UsageError('ORG/NAME is required', 'pull');
    let ref;
    try {
      ref = parseHubRef(positionals[0]);
    } catch (e) {
      if (e instanceof HubRefError) throw new UsageError(e.message, 'pull');
      throw e;
    }
    if (ref === null) throw new UsageError(`"${positionals[0]}" is not ORG/NAME[@REVISION][:TAG]`, 'pull');
    const pulled = await pullForCli(ref, io, true);
    const cached = pulled.downloaded.length === 0 ? 'already in the cache' : `${pulled.downloaded.length} file${pulled.downloaded.length === 1 ? '' : 's'} downloaded`;
    io.stderr.write(`pull: ${ref.repo}@${ref.revision} (commit ${pulled.commit.slice(0, 12)}): ${cached}\n`);
    io.stdout.write(`${pulled.path}\n`);
  },
};
