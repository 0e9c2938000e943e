// DESIGN §4, spec §15.1: a small byte-level BPE trainer for synthetic models. It learns
// merges from a built-in public-domain English text and writes a standard `tokenizer.json`
// (BPE model, ByteLevel pre-tokenizer and decoder, the same structure as the fixture
// tokenizers) that `@huggingface/tokenizers` loads.
//
// Id layout: the seven specials, then the 256 byte tokens in byte order, then the tokens the
// merges create, in the order learned (a merge whose result already exists adds no token).

/** Special tokens at ids 0..6, in this order (as in the nemotron-h-tiny fixtures). */
export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>', '<think>', '</think>'] as const;

/**
 * Training text. Public domain: Abraham Lincoln's Gettysburg Address (1863, Bliss copy) and
 * the opening of Lewis Carroll's "Alice's Adventures in Wonderland" (1865), chapter I.
 */
export const TRAINING_TEXT = `Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in Liberty, and dedicated to the proposition that all men are created equal.

Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great battle-field of that war. We have come to dedicate a portion of that field, as a final resting place for those who here gave their lives that that nation might live. It is altogether fitting and proper that we should do this.

But, in a larger sense, we can not dedicate—we can not consecrate—we can not hallow—this ground. The brave men, living and dead, who struggled here, have consecrated it, far above our poor power to add or detract. The world will little note, nor long remember what we say here, but it can never forget what they did here. It is for us the living, rather, to be dedicated here to the unfinished work which they who fought here have thus far so nobly advanced. It is rather for us to be here dedicated to the great task remaining before us—that from these honored dead we take increased devotion to that cause for which they gave the last full measure of devotion—that we here highly resolve that these dead shall not have died in vain—that this nation, under God, shall have a new birth of freedom—and that government of the people, by the people, for the people, shall not perish from the earth.

Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations in it, "and what is the use of a book," thought Alice "without pictures or conversations?"

So she was considering in her own mind (as well as she could, for the hot day made her feel very sleepy and stupid), whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the daisies, when suddenly a White Rabbit with pink eyes ran close by her.
`;

/** The GPT-2 pre-tokenizer split the ByteLevel pre-tokenizer applies (`use_regex: true`). */
const PRE_TOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * The byte → printable character table of byte-level BPE: printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100 onwards in byte order (so ' ' → 'Ġ', '\n' → 'Ċ').
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
})();

/** A trained byte-level BPE: token strings by id, and merges by rank. */
export interface BpeModel {
  /** Token string of each id (specials, 256 bytes, then merges). */
  readonly tokens: readonly string[];
  /** Merge pairs in rank order. */
  readonly merges: readonly (readonly [string, string])[];
}

/**
 * Pre-tokenize `text` with the GPT-2 split and add each word's count to `counts` (keyed by the
 * word's UTF-8 bytes as byte characters). Call it once per document to count a corpus.
 * @example
 * const counts = new Map<string, number>();
 * for (const doc of docs) countWords(doc, counts);
 */
export function countWords(text: string, counts: Map<string, number> = new Map()): Map<string, number> {
  const utf8 = new TextEncoder();
  for (const word of text.match(PRE_TOKENIZE) ?? []) {
    let chars = '';
    for (const b of utf8.encode(word)) chars += BYTE_TO_CHAR[b];
    counts.set(chars, (counts.get(chars) ?? 0) + 1);
  }
  return counts;
}

/**
 * Learn merges from `text` until the vocabulary has `vocabSize` tokens or no pair occurs twice.
 * Ties go to the pair whose joined string sorts first, so training is deterministic.
 * @example
 * const bpe = trainBpe(TRAINING_TEXT, 512);
 * bpe.tokens.length; // ≤ 512
 */
export function trainBpe(text: string, vocabSize: number): BpeModel {
  return trainBpeOnCounts(countWords(text), vocabSize);
}

/** Pair key of two symbol ids (ids < 2^21, so the key is an exact integer). */
const pairKey = (a: number, b: number) => a * 0x200000 + b;

/** A candidate merge in the heap: its count when pushed, and `"a b"` for the tie-break. */
interface HeapEntry {
  key: number;
  n: number;
  label: string;
}

/** Max-heap order: higher count first, then the smaller `"a b"` string. */
const before = (x: HeapEntry, y: HeapEntry) => x.n > y.n || (x.n === y.n && x.label < y.label);

/**
 * {@link trainBpe} on pre-counted words (from {@link countWords}). Pair counts are kept
 * incrementally: a merge only revisits the words that contain its pair, and the best pair comes
 * from a max-heap whose stale entries are dropped when popped. The result is the same as
 * recounting every pair after every merge.
 * @example
 * const bpe = trainBpeOnCounts(countWords(corpusText), 4096);
 */
export function trainBpeOnCounts(counts: ReadonlyMap<string, number>, vocabSize: number): BpeModel {
  const base = SPECIAL_TOKENS.length + BYTE_TO_CHAR.length;
  if (!(Number.isInteger(vocabSize) && vocabSize >= base)) {
    throw new RangeError(`vocab size must be an integer ≥ ${base} (specials + bytes), got ${vocabSize}`);
  }
  // symbols are ids into `symbolNames`; token strings double as symbol names
  const symbolNames: string[] = [...BYTE_TO_CHAR];
  const symbolOf = new Map(symbolNames.map((s, i) => [s, i]));
  const words = [...counts].map(([w, n]) => ({ symbols: [...w].map((c) => symbolOf.get(c)!), n }));
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1, changed: Set<number>) => {
    const { symbols, n } = words[wi];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * n);
      changed.add(key);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  const heap: HeapEntry[] = [];
  const push = (key: number) => {
    const n = pairCount.get(key) ?? 0;
    if (n <= 0) return;
    const a = Math.floor(key / 0x200000);
    const entry = { key, n, label: `${symbolNames[a]} ${symbolNames[key - a * 0x200000]}` };
    let i = heap.push(entry) - 1;
    while (i > 0 && before(entry, heap[(i - 1) >> 1])) {
      heap[i] = heap[(i - 1) >> 1];
      i = (i - 1) >> 1;
    }
    heap[i] = entry;
  };
  const pop = (): HeapEntry => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const c = l + 1 < heap.length && before(heap[l + 1], heap[l]) ? l + 1 : l;
        if (!before(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };

  const initial = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, initial);
  for (const key of initial) push(key);
  const merges: [string, string][] = [];
  const tokens: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR];
  while (tokens.length < vocabSize) {
    // 1. the most frequent pair (skipping heap entries whose count has changed since)
    let best: HeapEntry | undefined;
    while (heap.length > 0) {
      const top = pop();
      if (pairCount.get(top.key) === top.n) {
        best = top;
        break;
      }
    }
    if (!best || best.n < 2) break;
    const a = Math.floor(best.key / 0x200000);
    const b = best.key - a * 0x200000;
    merges.push([symbolNames[a], symbolNames[b]]);
    const joined = symbolNames[a] + symbolNames[b];
    let c = symbolOf.get(joined);
    if (c === undefined) {
      c = symbolNames.push(joined) - 1;
      symbolOf.set(joined, c);
      tokens.push(joined);
    }
    // 2. rewrite the words that contain the pair, left to right, and update the pair counts
    const changed = new Set<number>();
    for (const wi of pairWords.get(best.key) ?? []) {
      const { symbols } = words[wi];
      let has = false;
      for (let i = 0; i + 1 < symbols.length && !has; i++) has = symbols[i] === a && symbols[i + 1] === b;
      if (!has) continue;
      addPairs(wi, -1, changed);
      const out: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(symbols[i]);
      }
      words[wi].symbols = out;
      addPairs(wi, 1, changed);
    }
    pairWords.delete(best.key);
    for (const key of changed) push(key);
  }
  return { tokens, merges };
}

/**
 * A Hugging Face `tokenizer.json` object for a trained model, structured like the fixture
 * tokenizers: specials as added tokens, no normalizer, ByteLevel pre-tokenizer and decoder.
 * @example
 * const json = tokenizerJson(trainBpe(TRAINING_TEXT, 512));
 * const tok = new Tokenizer(json, {});
 */
export function tokenizerJson(bpe: BpeModel): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.tokens.map((t, id) => [t, id])),
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
