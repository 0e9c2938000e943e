// Argument parsing for every command: node:util parseArgs in strict mode, with its errors and
// every malformed value turned into a UsageError that names the option.

import type { KvDtype } from '../assembly/backend/act.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parsed values by option name (strings and booleans as parseArgs gives them). */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface ParsedArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

/**
 * Parse `argv` for `command` against `options` (plus `--help`/`-h`), allowing at most
 * `maxPositionals` positional arguments.
 * @example
 * const { values } = parseCommandArgs('tokenize', ['--text', 'hi'], { text: { type: 'string' } });
 */
export function parseCommandArgs(command: string, argv: readonly string[], options: OptionSpecs, maxPositionals = 0): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''), command);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`, command);
  }
  return { values: parsed.values as OptionValues, positionals: parsed.positionals };
}

/**
 * A string option's value, or undefined.
 * @example
 * stringOpt(values, 'model'); // 'models/default' | undefined
 */
export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A required string option; UsageError when absent.
 * @example
 * const out = requiredOpt('synth', values, 'out');
 */
export function requiredOpt(command: string, values: OptionValues, name: string): string {
  const v = stringOpt(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`, command);
  return v;
}

/**
 * `--kv-dtype`: the wasm attention caches' element type, f32 or bf16, or undefined (f32); UsageError otherwise.
 * @example
 * kvDtypeOpt('run', values); // 'bf16' for --kv-dtype bf16
 */
export function kvDtypeOpt(command: string, values: OptionValues): KvDtype | undefined {
  const v = stringOpt(values, 'kv-dtype');
  if (v === undefined || v === 'f32' || v === 'bf16') return v;
  throw new UsageError(`--kv-dtype must be f32 or bf16, got "${v}"`, command);
}

/**
 * An integer option in [min, max], or `fallback` when absent; UsageError when malformed.
 * @example
 * intOpt('run', values, 'max-tokens', 128, 0); // 128 when --max-tokens is absent
 */
export function intOpt(command: string, values: OptionValues, name: string, fallback: number | undefined, min = -(2 ** 31), max = 2 ** 32 - 1): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${v}"`, command);
  }
  return n;
}

/**
 * A finite number option, or `fallback` when absent; UsageError when malformed.
 * @example
 * numberOpt('run', values, 'temperature', 1);
 */
export function numberOpt(command: string, values: OptionValues, name: string, fallback: number | undefined): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`, command);
  return n;
}

/**
 * A required list of token ids: anything but non-negative integers separated by commas is a UsageError.
 * @example
 * tokenListOpt('logits', { tokens: '1, 2,3' }, 'tokens'); // [1, 2, 3]
 */
export function tokenListOpt(command: string, values: OptionValues, name: string): number[] {
  const v = requiredOpt(command, values, name);
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(`--${name} must be a comma-separated list of token ids (non-negative integers), got "${v}"`, command);
  }
  return parts.map(Number);
}
