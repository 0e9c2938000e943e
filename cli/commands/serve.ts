// `edgetron serve`: the Worker (worker/, DESIGN §6) under `wrangler dev` on 127.0.0.1. The
// default model is the committed edge pack assets/packs/default; any other checkpoint is served
// as it is when it already is an edge pack (sharded index with sha256s, shards ≤ 24 MiB), else
// packed into a temporary folder first (weights-tools/pack.ts). The isolate fit check
// (serve/fit.ts) runs here too, so a model that cannot fit is refused before wrangler starts.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../engine/core/config.js';
import { parseConfigJson } from '../../engine/formats/config-json.js';
import { SAFETENSORS_INDEX_FILE, parseSafetensorsIndex } from '../../engine/formats/safetensors.js';
import { packageRoot } from '../../runtime/paths.js';
import { assertFitsIsolate } from '../../serve/fit.js';
import { resolveModelPath } from '../../weights-tools/checkpoint.js';
import { EDGE_SHARD_BYTES, packCheckpoint } from '../../weights-tools/pack.js';
import { intOpt, stringOpt } from '../args.js';
import { resolveModelArg } from '../model-arg.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

/** Default port of `wrangler dev`. */
export const DEFAULT_PORT = 8787;
/** How long wrangler may take to print "Ready on". */
const READY_TIMEOUT_MS = 90_000;

export interface WranglerDevOptions {
  readonly port: number;
  /** Static-assets folder holding the pack (default: the package's assets/). */
  readonly assetsDir?: string;
  /** Extra [vars], e.g. EDGETRON_MODEL_PATH. */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * Secrets, e.g. EDGETRON_API_KEY: handed to the Worker in an env file readable by the owner
   * only (never on a command line, and without the rest of this process's environment).
   */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Where wrangler's output goes (default: discarded). */
  readonly log?: (chunk: string) => void;
}

/** A running `wrangler dev`. */
export interface WranglerDev {
  readonly child: ChildProcess;
  /** Resolves with the base URL once wrangler prints "Ready on", rejects if it exits first or times out. */
  readonly ready: Promise<string>;
  /** Stop wrangler and its workerd children (SIGINT to the process group, SIGKILL of what is left after 5 s). */
  stop(): Promise<void>;
}

/**
 * Start `wrangler dev` on 127.0.0.1 with the package's wrangler.toml, in its own process group.
 * @example
 * const dev = spawnWranglerDev({ port: 8787 });
 * const url = await dev.ready; … await dev.stop();
 */
export function spawnWranglerDev(options: WranglerDevOptions): WranglerDev {
  const root = packageRoot();
  const args = [join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(options.port)];
  // the devtools inspector on a port the OS picks: several servers can start at once
  args.push('--config', join(root, 'wrangler.toml'), '--log-level', 'info', '--inspector-port', '0');
  if (options.assetsDir) args.push('--assets', options.assetsDir);
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push('--var', `${k}:${v}`);
  const secrets = options.secrets && Object.keys(options.secrets).length > 0 ? writeSecretsFile(options.secrets) : null;
  if (secrets) args.push('--env-file', secrets.file);
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // CLOUDFLARE_INCLUDE_PROCESS_ENV would hand this whole environment to the Worker
    env: { ...process.env, CLOUDFLARE_INCLUDE_PROCESS_ENV: 'false', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => (secrets?.remove(), r())));
  const ready = new Promise<string>((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`wrangler dev did not become ready in ${READY_TIMEOUT_MS / 1000} s:\n${out.slice(-2000)}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      options.log?.(text);
      out += text;
      const m = /Ready on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m[1].replace(/\/$/, ''));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wrangler dev exited with status ${code}:\n${out.slice(-2000)}`));
    });
  });
  ready.catch(() => {});
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async () => {
    if (child.pid === undefined || !groupAlive()) return;
    process.kill(-child.pid, 'SIGINT');
    // wrangler stops its workerd children on SIGINT; whatever of the group is left after 5 s is killed
    for (let waited = 0; waited < 5000 && groupAlive(); waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive()) process.kill(-child.pid, 'SIGKILL');
    await exited;
  };
  return { child, ready, stop };
}

/** A dotenv file of `secrets` in a fresh private folder (0700, the file 0600), and its removal. */
function writeSecretsFile(secrets: Readonly<Record<string, string>>): { file: string; remove: () => void } {
  const lines = Object.entries(secrets).map(([k, v]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || /[\r\n'"]/.test(v)) throw new UsageError(`secret ${k}: names are A-Z, 0-9 and _; values cannot hold quotes or line breaks`, 'serve');
    return `${k}='${v}'`;
  });
  const dir = mkdtempSync(join(tmpdir(), 'edgetron-secrets-'));
  chmodSync(dir, 0o700);
  const file = join(dir, '.env');
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Is `dir` already an edge pack: a sharded index with a sha256 for every shard ≤ 24 MiB? */
async function isEdgePack(dir: string): Promise<boolean> {
  const file = join(dir, SAFETENSORS_INDEX_FILE);
  if (!existsSync(file)) return false;
  const index = parseSafetensorsIndex(JSON.parse(await readFile(file, 'utf8')), file);
  const shards = new Set(index.weightMap.values());
  return [...shards].every((s) => {
    const info = index.shards.get(s);
    return info?.sha256 !== undefined && info.size !== undefined && info.size <= EDGE_SHARD_BYTES;
  });
}

/** An edge pack ready to serve, and how to remove it when it was made for the occasion. */
export interface ServablePack {
  readonly packDir: string;
  cleanup(): Promise<void>;
}

/**
 * The model folder as an edge pack: itself when it already is one, else a temporary pack.
 * @example const { packDir, cleanup } = await servablePack('models/bench/small-f32', (m) => process.stderr.write(m));
 */
export async function servablePack(model: string, log: (message: string) => void = () => {}): Promise<ServablePack> {
  if (await isEdgePack(model)) return { packDir: model, cleanup: async () => {} };
  const tmp = await mkdtemp(join(tmpdir(), 'edgetron-serve-'));
  const packDir = join(tmp, 'pack');
  log(`packing ${model} into ${packDir}\n`);
  await packCheckpoint(model, packDir);
  return { packDir, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}

/**
 * The static-assets folder wrangler serves: the pack's files at its root (EDGETRON_MODEL_PATH
 * '/') and the embed bundle (`embed.js`, `embed/`, built by `npm run build`) beside them, as
 * symbolic links in a temporary folder, so the demo page's element loads whatever the model.
 * @example const site = await siteFolder('assets/packs/default'); // site.dir/config.json, site.dir/embed.js
 */
export async function siteFolder(packDir: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgetron-site-'));
  for (const file of await readdir(packDir)) await symlink(join(packDir, file), join(dir, file));
  const assets = join(packageRoot(), 'assets');
  for (const entry of ['embed.js', 'embed']) {
    if (existsSync(join(assets, entry))) await symlink(join(assets, entry), join(dir, entry));
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The `serve` command (dispatched by cli/main.ts).
 * @example
 * main(['serve', '--model', 'models/bench/small', '--port', '8788'], io);
 */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the OpenAI-compatible API (the Worker under wrangler dev) on 127.0.0.1',
  help: `usage: edgetron serve [--model PATH] [--port N] [--max-context N] [--concurrency N] [--api-key KEY]

Runs the Worker (worker/) under \`wrangler dev\` on http://127.0.0.1:PORT: the OpenAI API at
/v1, a demo page at /. Needs \`npm run build\` (the WASM kernels) first.

  --model PATH       checkpoint folder or edge pack, or "default" (the default)
  --port N           port (default ${DEFAULT_PORT})
  --max-context N    largest prompt + completion per request (default 4096)
  --concurrency N    generations at once (default 4)
  --api-key KEY      require "Authorization: Bearer KEY" on /v1/* (the API and the model's
                     files); default: the EDGETRON_API_KEY environment variable, else no key`,
  options: {
    'api-key': { type: 'string' },
    model: { type: 'string' },
    port: { type: 'string' },
    'max-context': { type: 'string' },
    concurrency: { type: 'string' },
  },
  async run({ values }, io) {
    const port = intOpt('serve', values, 'port', DEFAULT_PORT, 1, 65535)!;
    const maxContext = intOpt('serve', values, 'max-context', 4096, 1)!;
    const concurrency = intOpt('serve', values, 'concurrency', 4, 1)!;
    const apiKey = stringOpt(values, 'api-key') ?? io.env.EDGETRON_API_KEY ?? '';
    const root = packageRoot();
    if (!existsSync(join(root, 'build', 'edgetron-simd.wasm'))) throw new UsageError('the WASM kernels are not built; run `npm run build` first', 'serve');
    const model = resolve(resolveModelPath(await resolveModelArg(stringOpt(values, 'model'), io)));
    const { packDir, cleanup } = await servablePack(model, (m) => io.stderr.write(m));
    const site = await siteFolder(packDir);
    try {
      const configFile = join(packDir, 'config.json');
      const config = parseConfig(parseConfigJson(await readFile(configFile, 'utf8'), configFile));
      const index = parseSafetensorsIndex(JSON.parse(await readFile(join(packDir, SAFETENSORS_INDEX_FILE), 'utf8')), SAFETENSORS_INDEX_FILE);
      const weightBytes = Number((index.metadata as { total_size?: unknown }).total_size ?? 0);
      assertFitsIsolate({ source: model, config, weightBytes, maxContext, concurrency });
      const dev = spawnWranglerDev({
        port,
        assetsDir: site.dir,
        vars: { EDGETRON_MODEL_PATH: '/', EDGETRON_MAX_CONTEXT: String(maxContext), EDGETRON_CONCURRENCY: String(concurrency) },
        secrets: apiKey ? { EDGETRON_API_KEY: apiKey } : {},
        log: (chunk) => io.stderr.write(chunk),
      });
      const stop = () => void dev.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const url = await dev.ready;
      io.stdout.write(`edgetron: serving ${model} at ${url} (API ${url}/v1, demo ${url}/)${apiKey ? '; /v1/* needs the API key' : ''}\n`);
      await new Promise<void>((r) => dev.child.once('exit', () => r()));
    } finally {
      await site.cleanup();
      await cleanup();
    }
  },
};
