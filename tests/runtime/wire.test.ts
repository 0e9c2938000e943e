// runtime/wire.ts: an error sent across a thread boundary comes back as the same class, with its
// message and fields; an unknown name becomes what the receiving side says.
import { describe, expect, it } from 'vitest';
import * as engineErrors from '../../engine/core/errors.js';
import { ContextWindowExceededError, EdgetronError } from '../../engine/core/errors.js';
import { errorFromWire, toWire } from '../../runtime/wire.js';

const side = { classes: engineErrors, unknown: (w: { name: string; message: string }) => new Error(`unknown ${w.name}: ${w.message}`), thread: 'a test thread' };

describe('the wire error format', () => {
  it('round-trips an engine error as the same class, message and fields (through JSON, as postMessage and the SAB answers carry it)', () => {
    const sent = new ContextWindowExceededError(5000, 4096);
    const back = errorFromWire(JSON.parse(JSON.stringify(toWire(sent))), side);
    expect(back).toBeInstanceOf(ContextWindowExceededError);
    expect(back).toBeInstanceOf(EdgetronError);
    expect(back.message).toBe(sent.message);
    expect(back.name).toBe('ContextWindowExceededError');
    expect({ ...back }).toMatchObject({ ...sent });
    expect(back.stack).toContain('(on a test thread)');
  });

  it('an unknown name, or a class that is not an EdgetronError, becomes the side\'s fallback', () => {
    expect(errorFromWire({ name: 'NoSuchError', message: 'x' }, side).message).toBe('unknown NoSuchError: x');
    expect(errorFromWire(toWire(new TypeError('bad')), side).message).toBe('unknown TypeError: bad');
  });

  it('a thrown non-Error is sent under the given name', () => {
    expect(toWire('boom', 'GpuDeviceError')).toEqual({ name: 'GpuDeviceError', message: 'boom' });
  });
});
