// embed/protocol.ts: the chat body both engines send, and errors rebuilt across the boundary.
import { describe, expect, it } from 'vitest';
import { CorruptWeightsError } from '../../engine/core/errors.js';
import { LocalMemoryError } from '../../embed/errors.js';
import { chatBody, errorFromWire, toWire } from '../../embed/protocol.js';

describe('chatBody', () => {
  const messages = [{ role: 'user' as const, content: 'Hi' }];

  it('maps a generation to the OpenAI request the worker validates', () => {
    expect(chatBody('m', { messages, maxTokens: 64, thinking: true, thinkingBudget: 32, temperature: 0, seed: 7 }, true)).toEqual({
      model: 'm',
      messages,
      stream: true,
      max_tokens: 64,
      chat_template_kwargs: { enable_thinking: true },
      max_reasoning_tokens: 32,
      temperature: 0,
      seed: 7,
    });
  });

  it('sends no budget without thinking, and no temperature when none is given', () => {
    expect(chatBody('m', { messages, maxTokens: 8, thinking: false, thinkingBudget: 32 }, false)).toEqual({
      model: 'm',
      messages,
      stream: false,
      max_tokens: 8,
      chat_template_kwargs: { enable_thinking: false },
    });
  });

  it('a schema (el.send(text, { schema })) becomes a strict json_schema response_format', () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    expect(chatBody('m', { messages, maxTokens: 8, thinking: false, thinkingBudget: null, schema }, false)).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } },
    });
  });
});

describe('errorFromWire', () => {
  it('rebuilds a named class with its fields (embed and engine errors)', () => {
    const e = errorFromWire(toWire(new LocalMemoryError(3 * 2 ** 20, 2 ** 20, 'the memory-budget-mb attribute')));
    expect(e).toBeInstanceOf(LocalMemoryError);
    expect(e).toMatchObject({ name: 'LocalMemoryError', neededBytes: 3 * 2 ** 20, budgetBytes: 2 ** 20 });
    expect(e.message).toBe('not enough memory to run the model in this tab: it needs about 3.0 MiB and the memory-budget-mb attribute allows 1.0 MiB; use mode="remote" or a smaller model');
    expect(errorFromWire(toWire(new CorruptWeightsError('shard', 'bad')))).toBeInstanceOf(CorruptWeightsError);
  });

  it('an unknown name becomes an Error that keeps the name and message', () => {
    const e = errorFromWire({ name: 'TypeError', message: 'x is not a function' });
    expect(e).toBeInstanceOf(Error);
    expect({ name: e.name, message: e.message }).toEqual({ name: 'TypeError', message: 'x is not a function' });
  });
});
