// `edgetron template` against Python's Jinja2: the conversations of
// tests/fixtures/chat-template/conversations.json rendered with the Nemotron 3 style template next
// to them must equal, byte for byte, what scripts/render-chat-template.py wrote with jinja2 under
// Hugging Face's apply_chat_template settings (expected/*.txt, committed; the test never runs
// Python). Also: the API renders the same prompt, and malformed files are one-line errors.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TextCodec } from '../../../engine/text/text.js';
import { chatPrompt } from '../../../serve/run.js';
import { parseChatRequest } from '../../../serve/validate.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const SUITE = fileURLToPath(new URL('../../fixtures/chat-template/', import.meta.url));
const TEMPLATE = join(SUITE, 'nemotron3-style.jinja');
const MODEL = join(FIXTURES, 'dense/hf');

interface Case {
  name: string;
  noThink?: boolean;
  request: Record<string, unknown>;
}
const suite = JSON.parse(readFileSync(join(SUITE, 'conversations.json'), 'utf8')) as { tools: unknown[]; cases: Case[] };
const bodyOf = (c: Case) => ({ ...c.request, ...(c.request.tools === '$tools' && { tools: suite.tools }) });
const expected = (name: string, suffix = '.txt') => readFileSync(join(SUITE, 'expected', `${name}${suffix}`), 'utf8');

const dir = mkdtempSync(join(tmpdir(), 'edgetron-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

describe('edgetron template: the Nemotron 3 style template as Python Jinja2 renders it', () => {
  it('has the suite', () => {
    expect(suite.cases.length).toBe(14);
  });
  for (const c of suite.cases) {
    it(c.name, async () => {
      const messages = write(`${c.name}.json`, bodyOf(c));
      const r = await runCli(['template', '--model', MODEL, '--chat-template', TEMPLATE, '--messages', messages, ...(c.noThink ? ['--no-think'] : [])]);
      if (c.name.endsWith('-raises')) {
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`edgetron: chat template: cannot render chat_template: ${expected(c.name, '.error.txt')}\n`);
      } else {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(expected(c.name));
      }
    });
  }
});

describe('edgetron template: inputs', () => {
  const run = (...argv: string[]) => runCli(['template', '--model', MODEL, '--chat-template', TEMPLATE, ...argv]);
  const toolCase = suite.cases.find((c) => c.name === 'tool-call-and-response') as Case;

  it('takes a bare array of messages and the tools from --tools', async () => {
    const messages = write('bare.json', toolCase.request.messages);
    const tools = write('tools.json', suite.tools);
    const r = await run('--messages', messages, '--tools', tools);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expected('tool-call-and-response'));
  });
  it('prints what the API renders for the same request (serve/run.ts chatPrompt over parseChatRequest)', async () => {
    const c = suite.cases.find((x) => x.name === 'parallel-calls-merged-responses') as Case;
    const config = JSON.parse(readFileSync(join(MODEL, 'tokenizer_config.json'), 'utf8'));
    const text = TextCodec.fromJson(JSON.parse(readFileSync(join(MODEL, 'tokenizer.json'), 'utf8')), { ...config, chat_template: readFileSync(TEMPLATE, 'utf8') });
    const api = chatPrompt(text, parseChatRequest(bodyOf(c), 'edgetron-default', 4096, false));
    const r = await run('--messages', write('api.json', { model: 'another-model', max_tokens: 5, ...bodyOf(c) }));
    expect(r.stdout).toBe(api);
    expect(api).toBe(expected(c.name));
  });
  it('tool_choice narrows the tools as the API does', async () => {
    const body = { messages: [{ role: 'user', content: 'hi' }], tools: suite.tools, tool_choice: { type: 'function', function: { name: 'now' } } };
    const r = await run('--messages', write('choice.json', body));
    expect(r.stdout).toContain('<name>now</name>');
    expect(r.stdout).not.toContain('<name>get_weather</name>');
  });
  it("passes a tool result's tool_call_id and a message's name through to the template", async () => {
    const tpl = write('ids.jinja', "{% for m in messages %}{{ m.role }}:{{ m.tool_call_id }}:{{ m.name }};{% endfor %}");
    const body = [{ role: 'user', content: 'x', name: 'ada' }, { role: 'tool', content: 'r', tool_call_id: 'call_7' }];
    const r = await runCli(['template', '--model', MODEL, '--chat-template', tpl, '--messages', write('ids.json', body)]);
    expect(r.stdout).toBe('user::ada;tool:call_7:;');
  });
  it('renders the checkpoint template without --chat-template', async () => {
    const r = await runCli(['template', '--model', MODEL, '--messages', write('plain.json', [{ role: 'user', content: 'Hi' }]), '--no-think']);
    expect(r.stdout).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>');
  });

  const failures: [string, unknown, RegExp][] = [
    ['a role the API refuses', [{ role: 'bot', content: 'x' }], /bad-role\.json: messages\[0\]\.role must be one of system, developer, user, assistant, tool, got "bot"$/],
    ['arguments that are not JSON', [{ role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'now', arguments: '{oops' } }] }], /messages\[0\]\.tool_calls\[0\]\.function\.arguments must be a JSON object string$/],
    ['arguments that are a JSON number', [{ role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'now', arguments: '2.0' } }] }], /messages\[0\]\.tool_calls\[0\]\.function\.arguments must be a JSON object, got number$/],
    ['content that is a number', [{ role: 'user', content: 5 }], /messages\[0\]\.content must be a string or an array of text parts, got number$/],
    ['no messages', { tools: [] }, /messages is required$/],
    ['a JSON string', '"hello"', /must hold a JSON array of messages or a chat request object with "messages"$/],
    ['truncate_history_thinking that is not a boolean', { messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { truncate_history_thinking: 'no' } }, /chat_template_kwargs\.truncate_history_thinking must be a boolean, got string$/],
  ];
  for (const [what, content, pattern] of failures) {
    it(`refuses ${what} with one line naming the file and the field`, async () => {
      const name = what === 'a role the API refuses' ? 'bad-role.json' : 'bad.json';
      const r = await run('--messages', write(name, content));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr.trimEnd()).toMatch(/^edgetron: .*\.json: /);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    });
  }
  it('names the tools file for a bad tool, and malformed JSON by line and column', async () => {
    const ok = write('ok.json', [{ role: 'user', content: 'x' }]);
    const badTools = write('bad-tools.json', [{ type: 'function', function: { name: 'has space' } }]);
    const r = await run('--messages', ok, '--tools', badTools);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgetron: .*bad-tools\.json: tools\[0\]\.function\.name must match/);
    const broken = write('broken.json', '[\n  {"role": "user",, "content": "x"}\n]');
    const b = await run('--messages', broken);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/^edgetron: .*broken\.json: malformed JSON: line 2, column/);
  });
  it('needs --messages (usage error) and an existing file', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/template: --messages/);
    const missing = await run('--messages', join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json: no such file/);
  });
});
