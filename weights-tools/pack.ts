// DESIGN §3: the edge pack. Any checkpoint folder is rewritten as an HF-style folder the Worker
// can serve as static assets: config.json, tokenizer.json, tokenizer_config.json, and
// model-0000K-of-0000N.safetensors shards of at most 24 MiB (the Workers static-asset limit is
// 25 MiB) with model.safetensors.index.json listing each shard's sha256 and size. Tensors are
// 16-byte aligned so a loader can view them without copying, and written in the order the
// backends load them (loadOrder), so an old loader that reads in its own order still streams
// each shard once.
//
// The embedded default model (`buildDefaultPack`) is the trained `demo` model (`npm run
// train:demo` writes it to models/demo-train) quantised to NVFP4 (weights-tools/convert.ts),
// with the tool-calling chat template below (spec §15.2–15.3), so the API's tools path has a
// template.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShardLimitError } from '../engine/core/errors.js';
import { stringifyConfigJson } from '../engine/formats/config-json.js';
import { DTYPE_BYTES, expectedTensors, findTensor, sidecarNames } from '../engine/core/weights.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { writeShardedSafetensors, type TensorDecl, type WrittenShards } from './safetensors-writer.js';
import { convertCheckpoint } from './convert.js';
import { CHAT_TEMPLATE } from './synth.js';
import { packageRoot } from '../runtime/paths.js';

/** Largest shard: 24 MiB, under the 25 MiB Workers static-asset limit (DESIGN §3). */
export const EDGE_SHARD_BYTES = 24 * 2 ** 20;
/** Tensor alignment inside an edge-pack shard. */
export const EDGE_ALIGNMENT = 16;
/** Where the embedded default model lives, relative to the package root (served as an asset). */
export const DEFAULT_PACK_DIR = join('assets', 'packs', 'default');

/**
 * ChatML with think tags, tools and tool results, as Nemotron 3's template renders them
 * (spec §15.2, §15.3): tools are listed in the system turn after "# Tools"; assistant tool
 * calls are re-rendered as `<tool_call><function=NAME><parameter=ARG>…` blocks (arguments
 * given as an object); consecutive `tool` messages merge into one user turn of
 * `<tool_response>` blocks; the generation prompt opens `<think>\n`, or `<think></think>`
 * with `enable_thinking=false`.
 */
export const TOOL_CHAT_TEMPLATE = [
  String.raw`{%- set sys = messages[0]['content'] if messages | length > 0 and messages[0]['role'] == 'system' else '' -%}`,
  String.raw`{{- '<|im_start|>system\n' + sys -}}`,
  String.raw`{%- if tools -%}`,
  String.raw`{{- '\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>' -}}`,
  String.raw`{%- for tool in tools -%}{%- set f = tool['function'] -%}`,
  String.raw`{{- '\n<function>\n<name>' + f['name'] + '</name>\n<description>' + (f['description'] or '') + '</description>\n<parameters>' -}}`,
  String.raw`{%- if f['parameters'] is defined and f['parameters']['properties'] is defined -%}`,
  String.raw`{%- for pname, p in f['parameters']['properties'] | items -%}`,
  String.raw`{{- '\n<parameter>\n<name>' + pname + '</name>\n<type>' + (p['type'] or 'string') + '</type>\n<description>' + (p['description'] or '') + '</description>\n</parameter>' -}}`,
  String.raw`{%- endfor -%}{%- endif -%}`,
  String.raw`{{- '\n<required>' + ((f['parameters']['required'] if f['parameters'] is defined and f['parameters']['required'] is defined else []) | tojson) + '</required>\n</parameters>\n</function>' -}}`,
  String.raw`{%- endfor -%}`,
  String.raw`{{- '\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n</function>\n</tool_call>' -}}`,
  String.raw`{%- endif -%}`,
  String.raw`{{- '<|im_end|>\n' -}}`,
  String.raw`{%- for m in messages -%}`,
  String.raw`{%- if m['role'] == 'system' and loop.first -%}`,
  String.raw`{%- elif m['role'] == 'assistant' -%}`,
  String.raw`{%- set think = ('<think>\n' + m['reasoning_content'] + '\n</think>\n') if m['reasoning_content'] is defined and m['reasoning_content'] else ('' if '<think>' in (m['content'] or '') else '<think></think>') -%}`,
  String.raw`{{- '<|im_start|>assistant\n' + think + (m['content'] or '') -}}`,
  String.raw`{%- if m['tool_calls'] is defined and m['tool_calls'] -%}{%- for tc in m['tool_calls'] -%}`,
  String.raw`{{- '<tool_call>\n<function=' + tc['function']['name'] + '>\n' -}}`,
  String.raw`{%- for aname, aval in tc['function']['arguments'] | items -%}`,
  String.raw`{{- '<parameter=' + aname + '>\n' + (aval if aval is string else aval | tojson) + '\n</parameter>\n' -}}`,
  String.raw`{%- endfor -%}{{- '</function>\n</tool_call>\n' -}}{%- endfor -%}{%- endif -%}`,
  String.raw`{{- '<|im_end|>\n' -}}`,
  String.raw`{%- elif m['role'] == 'tool' -%}`,
  String.raw`{%- if loop.first or loop.previtem['role'] != 'tool' -%}{{- '<|im_start|>user\n' -}}{%- endif -%}`,
  String.raw`{{- '<tool_response>\n' + m['content'] + '\n</tool_response>\n' -}}`,
  String.raw`{%- if loop.last or loop.nextitem['role'] != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}`,
  String.raw`{%- else -%}{{- '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' -}}{%- endif -%}`,
  String.raw`{%- endfor -%}`,
  // the generation prompt, as in the synth template (spec §15.2)
  CHAT_TEMPLATE.slice(CHAT_TEMPLATE.indexOf('{%- if add_generation_prompt -%}')),
].join('');

export interface EdgePackOptions {
  /** Largest shard in bytes (default EDGE_SHARD_BYTES). */
  readonly maxShardBytes?: number;
  /** Replace tokenizer_config.json's chat_template. */
  readonly chatTemplate?: string;
}

const writeJson = (file: string, value: unknown) => writeFile(file, `${JSON.stringify(value, null, 2)}\n`);

/**
 * The checkpoint's tensor names in the order the backends load them (expectedTensors, each
 * 4-bit weight followed by its sidecars), then any others (input_scale, extra tensors) in store
 * order: a pack written so streams each shard front to back once whatever its loader.
 * @example loadOrder(ckpt)[0]; // 'backbone.embeddings.weight'
 */
export function loadOrder(ckpt: Checkpoint): string[] {
  const names = new Set<string>();
  for (const spec of expectedTensors(ckpt.config, true)) {
    const t = findTensor(ckpt.store, spec.name);
    if (!t) continue;
    const side = sidecarNames(t.name);
    for (const name of [t.name, side.scale, side.scale2, side.positions]) if (ckpt.store.get(name)) names.add(name);
  }
  for (const name of ckpt.store.names()) names.add(name);
  return [...names];
}

/**
 * Rewrite an opened checkpoint as an edge pack in `out` (created if needed), with `rawConfig`
 * (the source's config.json) as its config; tensors keep their dtypes. A tensor that cannot
 * fit one shard is refused (ShardLimitError) before anything is written.
 * @example
 * const written = await writeEdgePack(ckpt, JSON.parse(configText), '/tmp/pack');
 * written.files; // ['model-00001-of-00023.safetensors', …]
 */
export async function writeEdgePack(ckpt: Checkpoint, rawConfig: unknown, out: string, options: EdgePackOptions = {}): Promise<WrittenShards> {
  const maxShardBytes = options.maxShardBytes ?? EDGE_SHARD_BYTES;
  const decls: TensorDecl[] = loadOrder(ckpt).map((name) => {
    const t = ckpt.store.get(name)!;
    // a shard also holds its header: 1 KiB is ample for one tensor's entry
    if (t.byteLength > maxShardBytes - 1024) throw new ShardLimitError(name, t.byteLength, maxShardBytes);
    return { name, dtype: t.dtype, shape: t.shape };
  });
  await mkdir(out, { recursive: true });
  const written = await writeShardedSafetensors(
    out,
    decls,
    async (t, write) => {
      const bytes = new Uint8Array(t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]);
      await ckpt.store.get(t.name)!.readInto(bytes);
      await write(bytes);
    },
    { maxShardBytes, alignment: EDGE_ALIGNMENT, metadata: { format: 'pt', generator: 'edgetron pack' } },
  );
  await writeFile(join(out, 'config.json'), stringifyConfigJson(rawConfig));
  if (ckpt.tokenizerJson !== null) await writeJson(join(out, 'tokenizer.json'), ckpt.tokenizerJson);
  const tokenizerConfig = { ...(ckpt.tokenizerConfig ?? {}), ...(options.chatTemplate && { chat_template: options.chatTemplate }) };
  await writeJson(join(out, 'tokenizer_config.json'), tokenizerConfig);
  return written;
}

/**
 * Pack a checkpoint folder (path) into `out`.
 * @example await packCheckpoint('models/bench/small', '/tmp/small-pack');
 */
export async function packCheckpoint(path: string, out: string, options: EdgePackOptions = {}): Promise<WrittenShards> {
  const ckpt = await openCheckpoint(path);
  try {
    return await writeEdgePack(ckpt, ckpt.config.raw, out, options);
  } finally {
    await ckpt.store.close();
  }
}

/** Where `npm run train:demo` leaves the trained demo model, relative to the package root. */
export const DEMO_TRAIN_DIR = join('models', 'demo-train');

/**
 * Build the embedded default model: the trained checkpoint `trained` (default models/demo-train)
 * converted to NVFP4 with the tool-calling chat template, written to
 * `<package root>/assets/packs/default` (or `out`).
 * @example await buildDefaultPack(); // npm run build:default-model, after npm run train:demo
 */
export async function buildDefaultPack(out = join(packageRoot(), DEFAULT_PACK_DIR), trained = join(packageRoot(), DEMO_TRAIN_DIR)): Promise<WrittenShards> {
  const tmp = await mkdtemp(join(tmpdir(), 'edgetron-default-'));
  try {
    await convertCheckpoint(trained, tmp, { quant: 'nvfp4' });
    await rm(out, { recursive: true, force: true });
    return await packCheckpoint(tmp, out, { chatTemplate: TOOL_CHAT_TEMPLATE });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = await buildDefaultPack(process.argv[2], process.argv[3]);
  process.stdout.write(`default model: ${written.files.length} shard(s), ${written.index.metadata.total_size} bytes of tensors\n`);
}
