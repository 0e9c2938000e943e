// The trainer's checkpoint: one safetensors file (weights-tools/safetensors-writer.ts) with every
// parameter under its HF name, the Adam moments as `adam.m.<name>` and `adam.v.<name>`, and in
// the metadata the step, the data cursor and the options the run started with. Written to a
// temporary file and renamed, so an interrupted write never leaves a broken checkpoint.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CheckpointError } from '../../weights-tools/errors.js';
import { serializeSafetensors } from '../../weights-tools/safetensors-writer.js';
import type { ParamLayout } from './params.js';

/** Where the checkpoint lives inside the run's output folder (a subfolder: the output folder is
 * also the HF export, whose loader reads every *.safetensors beside config.json). */
export const STATE_FILE = join('checkpoint', 'train-state.safetensors');

/** What a checkpoint restores. */
export interface TrainState {
  readonly step: number; // optimiser steps done
  readonly cursor: number; // windows consumed
  readonly options: Readonly<Record<string, unknown>>;
  readonly params: Float32Array; // (layout.total)
  readonly m: Float32Array;
  readonly v: Float32Array;
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/**
 * Write the state to `path` (atomically).
 * @example await writeTrainState('models/demo-train/train-state.safetensors', layout, state);
 */
export async function writeTrainState(path: string, layout: ParamLayout, s: TrainState): Promise<void> {
  const tensors = [];
  for (const [prefix, flat] of [['', s.params], ['adam.m.', s.m], ['adam.v.', s.v]] as const) {
    for (const [i, name] of layout.names.entries()) {
      const n = layout.shapes[i].reduce((a, b) => a * b, 1);
      tensors.push({ name: `${prefix}${name}`, dtype: 'f32' as const, shape: layout.shapes[i], data: bytesOf(flat.subarray(layout.offsets[i], layout.offsets[i] + n)) });
    }
  }
  const bytes = serializeSafetensors(tensors, { step: String(s.step), cursor: String(s.cursor), options: JSON.stringify(s.options) });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

/**
 * Read a state written by writeTrainState into new flat buffers of the layout.
 * @example const state = await readTrainState(path, layout);
 */
export async function readTrainState(path: string, layout: ParamLayout): Promise<TrainState> {
  const file = await readFile(path).catch(() => {
    throw new CheckpointError(path, 'no training checkpoint to resume from');
  });
  const headerLen = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }> & {
    __metadata__: Record<string, string>;
  };
  const data = 8 + headerLen;
  const read = (prefix: string) => {
    const flat = new Float32Array(layout.total);
    layout.names.forEach((name, i) => {
      const entry = header[`${prefix}${name}`];
      const n = layout.shapes[i].reduce((a, b) => a * b, 1);
      if (!entry || entry.data_offsets[1] - entry.data_offsets[0] !== 4 * n) throw new CheckpointError(path, `tensor ${prefix}${name} missing or of the wrong size`);
      const src = file.subarray(data + entry.data_offsets[0], data + entry.data_offsets[1]);
      flat.set(new Float32Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength)), layout.offsets[i]);
    });
    return flat;
  };
  const meta = header.__metadata__;
  return { step: Number(meta.step), cursor: Number(meta.cursor), options: JSON.parse(meta.options), params: read(''), m: read('adam.m.'), v: read('adam.v.') };
}
