// Shared by `run`, `logits`, `eval` and `metric`: pick the backend (cli/backends.ts), open the
// checkpoint, make its memory plan (cli/memory-plan.ts) and load it into a session
// (engine/core/session.ts). The backend name is checked before any file is read; a model that
// does not fit is refused before any weight is read.

import { openSession, type Session } from '../engine/core/session.js';
import { openCheckpoint, resolveModelPath } from '../weights-tools/checkpoint.js';
import { pickBackend, type BackendChoice, type BackendOptions } from './backends.js';
import { assertPlanFits, availableMemoryBytes, planMemory, type MemoryPlan } from './memory-plan.js';

export interface LoadedCli {
  readonly session: Session;
  readonly choice: BackendChoice;
  /** The memory plan the load was checked against. */
  readonly plan: MemoryPlan;
  /** Release the backend memory and the weight files. */
  close(): Promise<void>;
}

/** What the memory plan is checked against and where it is printed. */
export interface PlanOptions {
  /** Tokens of context the command needs at least (default 1). */
  readonly requestedContext?: number;
  /** Gets the plan before loading (e.g. to print it). */
  readonly report?: (plan: MemoryPlan) => void;
}

/**
 * Load `--model` (default: the embedded model) on `--backend` (default: auto), built with
 * `options` (`--threads`), after checking its memory plan (ModelDoesNotFitError when it cannot fit).
 * @example
 * const { session, choice, plan, close } = await loadForCli('models/default', 'reference');
 */
export async function loadForCli(model: string | undefined, backendName: string | undefined, options: BackendOptions = {}, planOptions: PlanOptions = {}): Promise<LoadedCli> {
  const choice = await pickBackend(backendName ?? 'auto', options);
  const ckpt = await openCheckpoint(resolveModelPath(model));
  let session: Session;
  let plan: MemoryPlan | undefined;
  try {
    session = await openSession(ckpt, choice.backend, {
      beforeLoad: (tensors) => {
        plan = planMemory({ backend: choice.name, config: ckpt.config, tensors, availableBytes: availableMemoryBytes(), requestedContext: planOptions.requestedContext });
        planOptions.report?.(plan);
        assertPlanFits(ckpt.path, plan);
      },
    });
  } catch (err) {
    await ckpt.store.close();
    throw err;
  }
  return {
    session,
    choice,
    plan: plan!,
    close: async () => {
      session.dispose();
      await ckpt.store.close();
    },
  };
}
