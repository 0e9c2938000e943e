// Shared by `run` and `logits`: pick the backend (cli/backends.ts), open the checkpoint and
// load it into a session (engine/core/session.ts). The backend name is checked before any file is read.

import { openSession, type Session } from '../engine/core/session.js';
import { openCheckpoint, resolveModelPath } from '../weights-tools/checkpoint.js';
import { pickBackend, type BackendChoice, type BackendOptions } from './backends.js';

export interface LoadedCli {
  readonly session: Session;
  readonly choice: BackendChoice;
  /** Release the backend memory and the weight files. */
  close(): Promise<void>;
}

/**
 * Load `--model` (default: the embedded model) on `--backend` (default: auto), built with `options` (`--threads`).
 * @example
 * const { session, choice, close } = await loadForCli('models/default', 'reference');
 */
export async function loadForCli(model: string | undefined, backendName: string | undefined, options: BackendOptions = {}): Promise<LoadedCli> {
  const choice = await pickBackend(backendName ?? 'auto', options);
  const ckpt = await openCheckpoint(resolveModelPath(model));
  let session: Session;
  try {
    session = await openSession(ckpt, choice.backend);
  } catch (err) {
    await ckpt.store.close();
    throw err;
  }
  return {
    session,
    choice,
    close: async () => {
      session.dispose();
      await ckpt.store.close();
    },
  };
}
