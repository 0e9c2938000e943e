import { describe, expect, it } from 'vitest';
import { StopFilter } from '../../serve/stop.js';

/** Push chunks; return the released text, whether it stopped, and the flushed tail. */
function run(stops: string[], chunks: string[]) {
  const f = new StopFilter(stops);
  let out = '';
  for (const c of chunks) {
    const r = f.push(c);
    out += r.text;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + f.flush(), stopped: false };
}

describe('StopFilter', () => {
  it('passes text through when there are no stop sequences', () => {
    expect(new StopFilter([]).push('abc')).toEqual({ text: 'abc', stopped: false });
  });

  it('holds back a possible prefix and releases it when it is not one', () => {
    const f = new StopFilter(['END']);
    expect(f.push('abE')).toEqual({ text: 'ab', stopped: false });
    expect(f.push('Nx')).toEqual({ text: 'ENx', stopped: false });
    expect(f.push('EN')).toEqual({ text: '', stopped: false });
    expect(f.flush()).toBe('EN');
  });

  it('stops at a sequence split over any chunks, returning only the text before it', () => {
    const text = 'hello wor|ld and END more';
    for (let cut = 0; cut <= text.length; cut++) {
      expect(run(['END'], [text.slice(0, cut), text.slice(cut)])).toEqual({ out: 'hello wor|ld and ', stopped: true });
    }
    expect(run(['END'], [...text])).toEqual({ out: 'hello wor|ld and ', stopped: true });
  });

  it('the earliest of several sequences wins, and a longer overlapping one is held correctly', () => {
    expect(run(['and', 'wor'], ['hello world and'])).toEqual({ out: 'hello ', stopped: true });
    expect(run(['abcd', 'bx'], ['ab', 'c', 'x'])).toEqual({ out: 'abcx', stopped: false });
    expect(run(['abcd', 'bx'], ['ab', 'x'])).toEqual({ out: 'a', stopped: true });
  });
});
