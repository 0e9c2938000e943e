// File selection from a Hub listing: file names as unsloth, bartowski and NVIDIA publish them.

import { describe, expect, it } from 'vitest';
import { GgufTagError } from '../../../weights-tools/errors.js';
import { ggufTag, selectGguf, selectHubFiles, weightsFromIndex } from '../../../weights-tools/hub/select.js';

const UNSLOTH = [
  'Nemotron-3-Nano-30B-A3B-Q4_K_M.gguf',
  'Nemotron-3-Nano-30B-A3B-Q4_K_S.gguf',
  'Nemotron-3-Nano-30B-A3B-UD-Q4_K_XL.gguf',
  'Nemotron-3-Nano-30B-A3B-Q8_0.gguf',
  'Nemotron-3-Nano-30B-A3B-IQ4_XS.gguf',
  'Nemotron-3-Nano-30B-A3B-BF16.gguf',
  'BF16/Nemotron-3-Nano-30B-A3B-BF16-00001-of-00002.gguf',
  'BF16/Nemotron-3-Nano-30B-A3B-BF16-00002-of-00002.gguf',
  'mmproj-F16.gguf',
  'imatrix_unsloth.gguf',
  'README.md',
  '.gitattributes',
];
const BARTOWSKI = ['nvidia_Nemotron-3-Nano-30B-A3B-Q6_K_L.gguf', 'nvidia_Nemotron-3-Nano-30B-A3B-Q6_K.gguf', 'nvidia_Nemotron-3-Nano-30B-A3B-Q5_K_M.gguf', 'nvidia_Nemotron-3-Nano-30B-A3B.imatrix'];

describe('ggufTag', () => {
  it('takes the trailing quantisation type, with UD- and without the split suffix', () => {
    expect(ggufTag('Nemotron-3-Nano-30B-A3B-UD-Q4_K_XL.gguf')).toBe('UD-Q4_K_XL');
    expect(ggufTag('Nemotron-3-Nano-30B-A3B-IQ4_XS.gguf')).toBe('IQ4_XS');
    expect(ggufTag('BF16/Nemotron-3-Nano-30B-A3B-BF16-00001-of-00002.gguf')).toBe('BF16');
    expect(ggufTag('model.Q8_0.gguf')).toBe('Q8_0');
    expect(ggufTag('gpt-oss-20b-MXFP4.gguf')).toBe('MXFP4');
    expect(ggufTag('weird-name.gguf')).toBe('weird-name');
  });
});

describe('selectGguf', () => {
  it('matches the tag exactly (case-insensitive) before a bounded substring', () => {
    expect(selectGguf('u/N', UNSLOTH, 'Q4_K_M')).toBe('Nemotron-3-Nano-30B-A3B-Q4_K_M.gguf');
    expect(selectGguf('u/N', UNSLOTH, 'q8_0')).toBe('Nemotron-3-Nano-30B-A3B-Q8_0.gguf');
    expect(selectGguf('u/N', UNSLOTH, 'ud-q4_k_xl')).toBe('Nemotron-3-Nano-30B-A3B-UD-Q4_K_XL.gguf');
    expect(selectGguf('u/N', UNSLOTH, 'Q4_K_XL')).toBe('Nemotron-3-Nano-30B-A3B-UD-Q4_K_XL.gguf');
    expect(selectGguf('b/N', BARTOWSKI, 'Q6_K')).toBe('nvidia_Nemotron-3-Nano-30B-A3B-Q6_K.gguf');
    expect(selectGguf('b/N', BARTOWSKI, 'Q6_K_L')).toBe('nvidia_Nemotron-3-Nano-30B-A3B-Q6_K_L.gguf');
  });

  it('does not let a tag match a longer one (Q4_K is not Q4_K_M)', () => {
    expect(() => selectGguf('u/N', UNSLOTH, 'Q4_K')).toThrow(GgufTagError);
    expect(() => selectGguf('u/N', UNSLOTH, 'Q4')).toThrow(/no \.gguf file has this tag/);
  });

  it('lists the tags (without mmproj and imatrix files) when the tag is missing or unknown', () => {
    const tags = 'u/N:BF16, u/N:IQ4_XS, u/N:Q4_K_M, u/N:Q4_K_S, u/N:Q8_0, u/N:UD-Q4_K_XL';
    expect(() => selectGguf('u/N', UNSLOTH, undefined)).toThrow(`u/N: the repository has 6 GGUF quantisations; name one with :TAG; choose one of: ${tags}`);
    expect(() => selectGguf('u/N', UNSLOTH, 'Q3_K_M')).toThrow(`u/N:Q3_K_M: no .gguf file has this tag; choose one of: ${tags}`);
    expect(selectGguf('o/N', ['only-Q4_0.gguf', 'mmproj-F16.gguf'], undefined)).toBe('only-Q4_0.gguf');
    expect(() => selectGguf('o/N', ['README.md'], 'Q4_0')).toThrow(/^o\/N:Q4_0: the repository has no \.gguf file$/);
  });

  it('refuses a GGUF published only split (a single file wins over split parts), and a tag that two files share', () => {
    const split = ['BF16/M-BF16-00001-of-00002.gguf', 'BF16/M-BF16-00002-of-00002.gguf', 'M-Q8_0.gguf'];
    expect(selectGguf('u/N', UNSLOTH, 'bf16')).toBe('Nemotron-3-Nano-30B-A3B-BF16.gguf');
    expect(() => selectGguf('u/N', split, 'BF16')).toThrow(/split into 2 files \(M-BF16-00001-of-00002\.gguf, M-BF16-00002-of-00002\.gguf\).*single-file GGUF/);
    expect(() => selectGguf('u/N', ['a/M-Q4_0.gguf', 'b/M-Q4_0.gguf'], 'Q4_0')).toThrow(/the tag matches 2 files \(a\/M-Q4_0\.gguf, b\/M-Q4_0\.gguf\)/);
  });
});

describe('selectHubFiles', () => {
  it('keeps the root safetensors and side files of a checkpoint, and nothing else', () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'hf_quant_config.json', 'chat_template.jinja', 'special_tokens_map.json', 'README.md', 'modeling_nemotron_h.py', 'sub/other.safetensors'];
    expect(selectHubFiles('n/M', files, undefined)).toEqual({
      kind: 'safetensors',
      sideFiles: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'hf_quant_config.json', 'chat_template.jinja'],
      index: null,
      weights: ['model.safetensors'],
    });
  });

  it('with an index, leaves the weights to the index', () => {
    const files = ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    expect(selectHubFiles('n/M', files, undefined)).toEqual({ kind: 'safetensors', sideFiles: ['config.json'], index: 'model.safetensors.index.json', weights: [] });
    expect(weightsFromIndex({ weight_map: { a: 'model-00002-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } })).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(weightsFromIndex({})).toEqual([]);
  });

  it('a tag, or a repository without root safetensors, means one GGUF', () => {
    expect(selectHubFiles('u/N', UNSLOTH, 'Q8_0')).toEqual({ kind: 'gguf', file: 'Nemotron-3-Nano-30B-A3B-Q8_0.gguf' });
    expect(selectHubFiles('u/N', ['x.safetensors', 'config.json', 'x-Q4_0.gguf'], 'q4_0')).toEqual({ kind: 'gguf', file: 'x-Q4_0.gguf' });
    expect(() => selectHubFiles('u/N', UNSLOTH, undefined)).toThrow(GgufTagError);
    expect(() => selectHubFiles('o/Torch', ['config.json', 'pytorch_model.bin'], undefined)).toThrow('o/Torch: the repository has no *.safetensors at its root and no .gguf file (edgetron opens safetensors checkpoints and GGUF files)');
  });
});
