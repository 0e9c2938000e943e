// Test helper: a copy of a checkpoint folder whose block norms carry a few large channels.
// Synthetic weights give every residual channel about the same scale, so a calibration pass sees
// ‖X_j‖ nearly constant and Wanda's |W_ij|·‖X_j‖ ranks like plain |W_ij|. Trained LLMs instead
// have a few "massive activation" channels; scaling every 8th channel of each layer's input norm
// by 8 reproduces that, and is where activation-aware pruning should pay.

import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { writeSafetensorsFile } from '../../weights-tools/safetensors-writer.js';

/** Every OUTLIER_STRIDE-th channel of a block norm is scaled by OUTLIER_GAIN. */
export const OUTLIER_STRIDE = 8;
export const OUTLIER_GAIN = 8;

/**
 * Copy the f32 HF folder `src` to `dst` (one model.safetensors) with outlier channels in every
 * `backbone.layers.N.norm.weight`, streaming one tensor at a time.
 * @example await withOutlierChannels('/tmp/tiny', '/tmp/tiny-outliers');
 */
export async function withOutlierChannels(src: string, dst: string): Promise<void> {
  const ckpt = await openCheckpoint(src);
  try {
    await mkdir(dst, { recursive: true });
    const names = ckpt.store.names();
    const decls = names.map((n) => {
      const e = ckpt.store.get(n)!;
      return { name: n, dtype: e.dtype, shape: e.shape };
    });
    await writeSafetensorsFile(join(dst, 'model.safetensors'), decls, async (t, write) => {
      const e = ckpt.store.get(t.name)!;
      const data = new Uint8Array(e.byteLength);
      await e.readInto(data);
      if (/^backbone\.layers\.\d+\.norm\.weight$/.test(t.name)) {
        const f = new Float32Array(data.buffer);
        for (let j = 0; j < f.length; j += OUTLIER_STRIDE) f[j] *= OUTLIER_GAIN;
      }
      await write(data);
    });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(join(src, f), join(dst, f));
  } finally {
    await ckpt.store.close();
  }
}
