// Hostile input, through the real Worker entry (worker/index.ts, the pack from ASSETS): the corpus
// of the reliability suite (docs/api.md). Every malformed or adversarial request
// gets its status and its OpenAI-shaped JSON error `{error: {message, type, param, code}}`: the
// type the status implies, the code and the param naming the field, and a message that leaks no
// file path or stack trace. The worker keeps serving afterwards.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

const MODEL = 'edgetron-default';
const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';
const EMBEDDINGS = '/v1/embeddings';
const CLASSIFIERS = '/v1/classifiers';
const CLASSIFY = '/v1/classify';
const ok = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };
const tool = (fn: unknown) => ({ ...ok, tools: [{ type: 'function', function: fn }] });
/** n labelled examples for POST /v1/classifiers, labels alternating a/b unless one is given. */
const examples = (n: number, label?: string) => Array.from({ length: n }, (_, i) => ({ text: `example ${i}`, label: label ?? (i % 2 ? 'a' : 'b') }));
const CLASSIFIER_ID = `clf-${'0'.repeat(32)}`;
const schemaFormat = (schema: unknown) => ({ ...ok, response_format: { type: 'json_schema', json_schema: { name: 'out', strict: true, schema } } });

/** A POST of a body: objects are sent as JSON; strings and byte arrays as they are. */
type BodyCase = [label: string, path: string, body: unknown, status: number, param: string | null, code: string, message?: RegExp];

const BODY_CASES: BodyCase[] = [
  // the body itself
  ['truncated JSON', CHAT, '{"model": "edgetron-default", "messages": [', 400, null, 'invalid_json'],
  ['empty body', CHAT, '', 400, null, 'invalid_json'],
  ['JSON array body', CHAT, '[]', 400, null, 'invalid_type'],
  ['JSON string body', CHAT, '"hello"', 400, null, 'invalid_type'],
  ['JSON null body', CHAT, 'null', 400, null, 'invalid_type'],
  ['trailing garbage after JSON', CHAT, `${JSON.stringify(ok)}xyz`, 400, null, 'invalid_json'],
  ['invalid UTF-8 bytes', CHAT, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400, null, 'invalid_utf8'],
  ['lone surrogate half in UTF-8 (CESU)', CHAT, new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), 400, null, 'invalid_utf8'],
  ['10 MB body', CHAT, JSON.stringify({ ...ok, pad: 'x'.repeat(10 * 2 ** 20) }), 413, null, 'payload_too_large'],
  ['1 MiB + 1 byte body', CHAT, 'y'.repeat(2 ** 20 + 1), 413, null, 'payload_too_large'],
  ['completions: 2 MiB body', COMPLETIONS, JSON.stringify({ model: MODEL, prompt: 'p'.repeat(2 * 2 ** 20) }), 413, null, 'payload_too_large'],
  ['embeddings: 1 MiB + 1 byte body', EMBEDDINGS, 'e'.repeat(2 ** 20 + 1), 413, null, 'payload_too_large'],
  // model
  ['model is null and max_tokens bad', CHAT, { ...ok, model: null, max_tokens: 0 }, 400, 'max_tokens', 'invalid_value'],
  ['model is a number', CHAT, { ...ok, model: 42 }, 400, 'model', 'invalid_type'],
  ['unknown model', CHAT, { ...ok, model: 'gpt-4o' }, 404, 'model', 'model_not_found'],
  ['a __proto__ key does not shadow the model', CHAT, `{"__proto__": {"model": "${MODEL}"}, "model": 42, "messages": [{"role": "user", "content": "hi"}]}`, 400, 'model', 'invalid_type'],
  // messages
  ['missing messages', CHAT, { model: MODEL }, 400, 'messages', 'missing_required_parameter'],
  ['messages is a string', CHAT, { ...ok, messages: 'hi' }, 400, 'messages', 'invalid_type'],
  ['messages is an object', CHAT, { ...ok, messages: { role: 'user', content: 'hi' } }, 400, 'messages', 'invalid_type'],
  ['messages is empty', CHAT, { ...ok, messages: [] }, 400, 'messages', 'invalid_value'],
  ['message is a string', CHAT, { ...ok, messages: ['hi'] }, 400, 'messages[0]', 'invalid_type'],
  ['message is null', CHAT, { ...ok, messages: [null] }, 400, 'messages[0]', 'invalid_type'],
  ['deeply nested message', CHAT, `{"model": "${MODEL}", "messages": ${'['.repeat(5000)}${']'.repeat(5000)}}`, 400, 'messages[0]', 'invalid_type'],
  ['message without role', CHAT, { ...ok, messages: [{ content: 'hi' }] }, 400, 'messages[0].role', 'invalid_value'],
  ['unknown role', CHAT, { ...ok, messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages[0].role', 'invalid_value'],
  ['content is a number', CHAT, { ...ok, messages: [{ role: 'user', content: 5 }] }, 400, 'messages[0].content', 'invalid_type'],
  ['user content is null', CHAT, { ...ok, messages: [{ role: 'user', content: null }] }, 400, 'messages[0].content', 'invalid_type'],
  ['content part is an image', CHAT, { ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 400, 'messages[0].content[0]', 'invalid_value'],
  ['content part is a string', CHAT, { ...ok, messages: [{ role: 'user', content: ['hi'] }] }, 400, 'messages[0].content[0]', 'invalid_value'],
  ['tool message with a numeric tool_call_id', CHAT, { ...ok, messages: [{ role: 'tool', content: 'x', tool_call_id: 7 }] }, 400, 'messages[0].tool_call_id', 'invalid_type'],
  ['assistant tool_calls is an object', CHAT, { ...ok, messages: [{ role: 'assistant', content: null, tool_calls: {} }] }, 400, 'messages[0].tool_calls', 'invalid_type'],
  ['assistant tool call arguments are not JSON', CHAT, { ...ok, messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 400, 'messages[0].tool_calls[0].function.arguments', 'invalid_value'],
  ['prompt longer than the context', CHAT, { ...ok, messages: [{ role: 'user', content: 'the '.repeat(5000) }] }, 400, 'messages', 'context_length_exceeded'],
  // token limits and sampling
  ['huge max_tokens', CHAT, { ...ok, max_tokens: 1e12 }, 400, 'max_tokens', 'context_length_exceeded'],
  ['max_tokens 0', CHAT, { ...ok, max_tokens: 0 }, 400, 'max_tokens', 'invalid_value'],
  ['negative max_tokens', CHAT, { ...ok, max_tokens: -5 }, 400, 'max_tokens', 'invalid_value'],
  ['fractional max_tokens', CHAT, { ...ok, max_tokens: 1.5 }, 400, 'max_tokens', 'invalid_type'],
  ['max_tokens as a string', CHAT, { ...ok, max_tokens: '10' }, 400, 'max_tokens', 'invalid_type'],
  ['huge max_completion_tokens', CHAT, { ...ok, max_completion_tokens: 2 ** 40 }, 400, 'max_completion_tokens', 'context_length_exceeded'],
  ['negative temperature', CHAT, { ...ok, temperature: -1 }, 400, 'temperature', 'invalid_value'],
  ['temperature above 2', CHAT, { ...ok, temperature: 3 }, 400, 'temperature', 'invalid_value'],
  ['temperature as a string', CHAT, { ...ok, temperature: 'hot' }, 400, 'temperature', 'invalid_type'],
  ['temperature overflowing to Infinity', CHAT, `{"model": "${MODEL}", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e400}`, 400, 'temperature', 'invalid_type'],
  ['top_p 0', CHAT, { ...ok, top_p: 0 }, 400, 'top_p', 'invalid_value'],
  ['top_p above 1', CHAT, { ...ok, top_p: 1.5 }, 400, 'top_p', 'invalid_value'],
  ['top_p as a string', CHAT, { ...ok, top_p: '0.5' }, 400, 'top_p', 'invalid_type'],
  ['fractional seed', CHAT, { ...ok, seed: 1.5 }, 400, 'seed', 'invalid_type'],
  ['seed as a string', CHAT, { ...ok, seed: 'x' }, 400, 'seed', 'invalid_type'],
  ['seed beyond 2^53', CHAT, { ...ok, seed: 2 ** 60 }, 400, 'seed', 'invalid_value'],
  ['n = 0', CHAT, { ...ok, n: 0 }, 400, 'n', 'invalid_value'],
  ['fractional n', CHAT, { ...ok, n: 1.5 }, 400, 'n', 'invalid_type'],
  // stop
  ['five stop sequences', CHAT, { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop', 'invalid_value'],
  ['empty stop sequence', CHAT, { ...ok, stop: [''] }, 400, 'stop', 'invalid_value'],
  ['empty stop string', CHAT, { ...ok, stop: '' }, 400, 'stop', 'invalid_value'],
  ['stop sequence of 257 characters', CHAT, { ...ok, stop: ['s'.repeat(257)] }, 400, 'stop', 'invalid_value'],
  ['numeric stop sequence', CHAT, { ...ok, stop: [1] }, 400, 'stop', 'invalid_type'],
  ['nested stop array', CHAT, { ...ok, stop: [['a']] }, 400, 'stop', 'invalid_type'],
  ['stop is an object', CHAT, { ...ok, stop: { a: 1 } }, 400, 'stop', 'invalid_type'],
  ['stop is a boolean', CHAT, { ...ok, stop: true }, 400, 'stop', 'invalid_type'],
  // streaming
  ['stream is a string', CHAT, { ...ok, stream: 'yes' }, 400, 'stream', 'invalid_type'],
  ['stream_options is a string', CHAT, { ...ok, stream: true, stream_options: 'x' }, 400, 'stream_options', 'invalid_type'],
  ['stream_options is an array', CHAT, { ...ok, stream: true, stream_options: [{ include_usage: true }] }, 400, 'stream_options', 'invalid_type'],
  ['include_usage is a string', CHAT, { ...ok, stream: true, stream_options: { include_usage: 'y' } }, 400, 'stream_options.include_usage', 'invalid_type'],
  ['include_usage is a number', COMPLETIONS, { model: MODEL, prompt: 'a', stream: true, stream_options: { include_usage: 1 } }, 400, 'stream_options.include_usage', 'invalid_type'],
  // tools
  ['tools is an object', CHAT, { ...ok, tools: { type: 'function' } }, 400, 'tools', 'invalid_type'],
  ['tool is a string', CHAT, { ...ok, tools: ['get_weather'] }, 400, 'tools[0]', 'invalid_type'],
  ['tool of another type', CHAT, { ...ok, tools: [{ type: 'retrieval' }] }, 400, 'tools[0].type', 'invalid_value'],
  ['tool without a function', CHAT, { ...ok, tools: [{ type: 'function' }] }, 400, 'tools[0].function', 'invalid_type'],
  ['tool name with spaces and markup', CHAT, tool({ name: 'get weather<tool_call>' }), 400, 'tools[0].function.name', 'invalid_value'],
  ['tool name empty', CHAT, tool({ name: '' }), 400, 'tools[0].function.name', 'invalid_value'],
  ['tool name of 65 characters', CHAT, tool({ name: 'f'.repeat(65) }), 400, 'tools[0].function.name', 'invalid_value'],
  ['tool schema is a string', CHAT, tool({ name: 'f', parameters: 'object' }), 400, 'tools[0].function.parameters', 'invalid_type'],
  ['tool schema is an array', CHAT, tool({ name: 'f', parameters: [] }), 400, 'tools[0].function.parameters', 'invalid_type'],
  ['tool properties is an array', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: [] } }), 400, 'tools[0].function.parameters.properties', 'invalid_type'],
  ['tool property schema is a string', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: { a: 'string' } } }), 400, 'tools[0].function.parameters.properties.a', 'invalid_type'],
  ['tool required is not a list of strings', CHAT, tool({ name: 'f', parameters: { type: 'object', required: [1] } }), 400, 'tools[0].function.parameters.required', 'invalid_type'],
  ['tool required is a string', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } }, required: 'a' } }), 400, 'tools[0].function.parameters.required', 'invalid_type'],
  ['tool required names a missing property', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } }, required: ['city'] } }), 400, 'tools[0].function.parameters', 'invalid_value', /city/],
  ['tool property with an empty enum', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', enum: [] } } } }), 400, 'tools[0].function.parameters', 'invalid_value', /enum/],
  ['tool description is a number', CHAT, tool({ name: 'f', description: 5 }), 400, 'tools[0].function.description', 'invalid_type'],
  ['tool_choice unknown word', CHAT, { ...tool({ name: 'f' }), tool_choice: 'sometimes' }, 400, 'tool_choice', 'invalid_value'],
  ['tool_choice is a number', CHAT, { ...tool({ name: 'f' }), tool_choice: 1 }, 400, 'tool_choice', 'invalid_value'],
  ['tool_choice function without a name', CHAT, { ...tool({ name: 'f' }), tool_choice: { type: 'function' } }, 400, 'tool_choice', 'invalid_value'],
  ['tool_choice names a missing tool', CHAT, { ...tool({ name: 'f' }), tool_choice: { type: 'function', function: { name: 'g' } } }, 400, 'tool_choice', 'invalid_value'],
  ['tool_choice required without tools', CHAT, { ...ok, tool_choice: 'required' }, 400, 'tool_choice', 'invalid_value'],
  // reasoning and test hooks
  ['unknown reasoning_effort', CHAT, { ...ok, reasoning_effort: 'extreme' }, 400, 'reasoning_effort', 'invalid_value'],
  ['negative max_reasoning_tokens', CHAT, { ...ok, max_reasoning_tokens: -1 }, 400, 'max_reasoning_tokens', 'invalid_value'],
  ['chat_template_kwargs is a string', CHAT, { ...ok, chat_template_kwargs: 'x' }, 400, 'chat_template_kwargs', 'invalid_type'],
  ['enable_thinking is a string', CHAT, { ...ok, chat_template_kwargs: { enable_thinking: 'no' } }, 400, 'chat_template_kwargs.enable_thinking', 'invalid_type'],
  ['x_force_output is a number', CHAT, { ...ok, x_force_output: 5 }, 400, 'x_force_output', 'invalid_type'],
  // structured output, logprobs, penalties, logit_bias, n
  ['response_format: an unsupported schema feature (pattern)', CHAT, schemaFormat({ type: 'string', pattern: 'x' }), 400, 'response_format.json_schema.schema', 'unsupported_value', /pattern/],
  ['response_format: a nested unsupported feature (pattern)', CHAT, schemaFormat({ type: 'object', properties: { a: { type: 'string', pattern: '^a+$' } }, required: ['a'] }), 400, 'response_format.json_schema.schema', 'unsupported_value', /pattern/],
  ['response_format is a string', CHAT, { ...ok, response_format: 'json' }, 400, 'response_format', 'invalid_type'],
  ['response_format of an unknown type', CHAT, { ...ok, response_format: { type: 'xml' } }, 400, 'response_format.type', 'invalid_value'],
  ['response_format json_schema without its json_schema', CHAT, { ...ok, response_format: { type: 'json_schema' } }, 400, 'response_format.json_schema', 'invalid_type'],
  ['response_format json_schema without a schema', CHAT, { ...ok, response_format: { type: 'json_schema', json_schema: { name: 'out' } } }, 400, 'response_format.json_schema.schema', 'missing_required_parameter'],
  ['response_format schema name with markup', CHAT, { ...ok, response_format: { type: 'json_schema', json_schema: { name: 'a b<', schema: { type: 'object' } } } }, 400, 'response_format.json_schema.name', 'invalid_value'],
  ['response_format strict is a string', CHAT, { ...ok, response_format: { type: 'json_schema', json_schema: { name: 'out', strict: 'yes', schema: { type: 'object' } } } }, 400, 'response_format.json_schema.strict', 'invalid_type'],
  ['response_format with a forced tool call', CHAT, { ...tool({ name: 'f' }), tool_choice: 'required', response_format: { type: 'json_object' } }, 400, 'response_format', 'invalid_value'],
  ['logprobs is a string', CHAT, { ...ok, logprobs: 'yes' }, 400, 'logprobs', 'invalid_type'],
  ['top_logprobs 21', CHAT, { ...ok, logprobs: true, top_logprobs: 21 }, 400, 'top_logprobs', 'invalid_value'],
  ['top_logprobs negative', CHAT, { ...ok, logprobs: true, top_logprobs: -1 }, 400, 'top_logprobs', 'invalid_value'],
  ['top_logprobs fractional', CHAT, { ...ok, logprobs: true, top_logprobs: 2.5 }, 400, 'top_logprobs', 'invalid_type'],
  ['top_logprobs without logprobs', CHAT, { ...ok, top_logprobs: 3 }, 400, 'top_logprobs', 'invalid_value'],
  ['completions: logprobs 6', COMPLETIONS, { model: MODEL, prompt: 'a', logprobs: 6 }, 400, 'logprobs', 'invalid_value'],
  ['presence_penalty above 2', CHAT, { ...ok, presence_penalty: 3 }, 400, 'presence_penalty', 'invalid_value'],
  ['frequency_penalty below -2', CHAT, { ...ok, frequency_penalty: -2.5 }, 400, 'frequency_penalty', 'invalid_value'],
  ['frequency_penalty as a string', CHAT, { ...ok, frequency_penalty: 'x' }, 400, 'frequency_penalty', 'invalid_type'],
  ['logit_bias key is not a token id', CHAT, { ...ok, logit_bias: { abc: 5 } }, 400, 'logit_bias', 'invalid_value'],
  ['logit_bias value above 100', CHAT, { ...ok, logit_bias: { '1': 101 } }, 400, 'logit_bias', 'invalid_value'],
  ['logit_bias is an array', CHAT, { ...ok, logit_bias: [1, 2] }, 400, 'logit_bias', 'invalid_type'],
  ['logit_bias of 301 tokens', CHAT, { ...ok, logit_bias: Object.fromEntries(Array.from({ length: 301 }, (_, i) => [String(i), 1])) }, 400, 'logit_bias', 'invalid_value'],
  ['n = 9', CHAT, { ...ok, n: 9 }, 400, 'n', 'invalid_value'],
  ['logit_bias token outside the vocabulary', CHAT, { ...ok, logit_bias: { '9999999': 1 } }, 400, 'logit_bias', 'invalid_value', /vocabulary/],
  ['forced tool call that max_tokens cannot hold', CHAT, { ...tool({ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }), tool_choice: 'required', max_tokens: 1 }, 400, 'max_tokens', 'invalid_value'],
  // completions
  ['completions: missing prompt', COMPLETIONS, { model: MODEL }, 400, 'prompt', 'missing_required_parameter'],
  ['completions: numeric prompt', COMPLETIONS, { model: MODEL, prompt: 12 }, 400, 'prompt', 'invalid_type'],
  ['completions: two prompts', COMPLETIONS, { model: MODEL, prompt: ['a', 'b'] }, 400, 'prompt', 'unsupported_value'],
  ['completions: token-id prompt', COMPLETIONS, { model: MODEL, prompt: [1, 2, 3] }, 400, 'prompt', 'unsupported_value'],
  ['completions: empty prompt', COMPLETIONS, { model: MODEL, prompt: '' }, 400, 'prompt', 'invalid_value'],
  ['completions: suffix', COMPLETIONS, { model: MODEL, prompt: 'a', suffix: 'b' }, 400, 'suffix', 'unsupported_value'],
  ['completions: huge max_tokens', COMPLETIONS, { model: MODEL, prompt: 'a', max_tokens: 1e9 }, 400, 'max_tokens', 'context_length_exceeded'],
  ['completions: unknown model', COMPLETIONS, { model: 'davinci-002', prompt: 'a' }, 404, 'model', 'model_not_found'],
  // embeddings
  ['embeddings: missing input', EMBEDDINGS, { model: MODEL }, 400, 'input', 'invalid_value'],
  ['embeddings: empty input list', EMBEDDINGS, { model: MODEL, input: [] }, 400, 'input', 'invalid_value'],
  ['embeddings: numeric input', EMBEDDINGS, { model: MODEL, input: [1] }, 400, 'input[0]', 'invalid_value'],
  ['embeddings: blank input', EMBEDDINGS, { model: MODEL, input: ['ok', '   '] }, 400, 'input[1]', 'invalid_value'],
  ['embeddings: 65 inputs', EMBEDDINGS, { model: MODEL, input: Array.from({ length: 65 }, () => 'x') }, 400, 'input', 'invalid_value'],
  ['embeddings: input of 4001 characters', EMBEDDINGS, { model: MODEL, input: 'z'.repeat(4001) }, 400, 'input[0]', 'invalid_value'],
  ['embeddings: encoding_format base64', EMBEDDINGS, { model: MODEL, input: 'x', encoding_format: 'base64' }, 400, 'encoding_format', 'invalid_value'],
  ['embeddings: unknown model', EMBEDDINGS, { model: 'text-embedding-3-small', input: 'x' }, 404, 'model', 'model_not_found'],
  ['embeddings: JSON array body', EMBEDDINGS, '[]', 400, null, 'invalid_type'],
  // classifiers
  ['classifiers: missing examples', CLASSIFIERS, { model: MODEL }, 400, 'examples', 'invalid_value'],
  ['classifiers: 3 examples', CLASSIFIERS, { examples: examples(3) }, 400, 'examples', 'invalid_value'],
  ['classifiers: 129 examples', CLASSIFIERS, { examples: examples(129) }, 400, 'examples', 'invalid_value'],
  ['classifiers: examples is an object', CLASSIFIERS, { examples: { a: 'x' } }, 400, 'examples', 'invalid_value'],
  ['classifiers: example is a string', CLASSIFIERS, { examples: ['a', ...examples(3)] }, 400, 'examples[0].label', 'invalid_value'],
  ['classifiers: empty label', CLASSIFIERS, { examples: [{ text: 'x', label: '' }, ...examples(3)] }, 400, 'examples[0].label', 'invalid_value'],
  ['classifiers: label of 65 characters', CLASSIFIERS, { examples: [...examples(3), { text: 'x', label: 'l'.repeat(65) }] }, 400, 'examples[3].label', 'invalid_value'],
  ['classifiers: example without text', CLASSIFIERS, { examples: [{ label: 'a' }, ...examples(3)] }, 400, 'examples[0].text', 'invalid_value'],
  ['classifiers: one label only', CLASSIFIERS, { examples: examples(4, 'same') }, 400, 'examples', 'invalid_value'],
  ['classifiers: k 0', CLASSIFIERS, { examples: examples(4), k: 0 }, 400, 'k', 'invalid_value'],
  ['classifiers: k beyond the examples', CLASSIFIERS, { examples: examples(4), k: 4 }, 400, 'k', 'invalid_value'],
  ['classifiers: 41 sweeps', CLASSIFIERS, { examples: examples(4), sweeps: 41 }, 400, 'sweeps', 'invalid_value'],
  ['classifiers: negative seed', CLASSIFIERS, { examples: examples(4), seed: -1 }, 400, 'seed', 'invalid_value'],
  ['classifiers: unknown model', CLASSIFIERS, { model: 'gpt-4o', examples: examples(4) }, 404, 'model', 'model_not_found'],
  // classify
  ['classify: missing classifier', CLASSIFY, { input: 'x' }, 400, 'classifier', 'invalid_value'],
  ['classify: classifier id of the wrong form', CLASSIFY, { classifier: 'clf-../../x', input: 'x' }, 400, 'classifier', 'invalid_value'],
  ['classify: classifier is a number', CLASSIFY, { classifier: 7, input: 'x' }, 400, 'classifier', 'invalid_value'],
  ['classify: missing input', CLASSIFY, { classifier: CLASSIFIER_ID }, 400, 'input', 'invalid_value'],
  ['classify: unknown classifier', CLASSIFY, { classifier: CLASSIFIER_ID, input: 'x' }, 404, 'classifier', 'classifier_not_found'],
];

/** Any method, path, content type and body: routing, method, media type and path traversal. */
type RouteCase = [label: string, method: string, path: string, status: number, param: string | null, code: string, init?: { type?: string; body?: string }];

const ROUTE_CASES: RouteCase[] = [
  // a path that exists with another method: 405 naming the allowed one
  ['GET chat completions', 'GET', CHAT, 405, null, 'method_not_allowed'],
  ['DELETE completions', 'DELETE', COMPLETIONS, 405, null, 'method_not_allowed'],
  ['PUT models', 'PUT', '/v1/models', 405, null, 'method_not_allowed'],
  ['POST models', 'POST', '/v1/models', 405, null, 'method_not_allowed', { body: '{}' }],
  ['POST backend', 'POST', '/v1/backend', 405, null, 'method_not_allowed', { body: '{}' }],
  ['POST health', 'POST', '/health', 405, null, 'method_not_allowed', { body: '{}' }],
  ['GET embeddings', 'GET', EMBEDDINGS, 405, null, 'method_not_allowed'],
  ['GET classifiers', 'GET', CLASSIFIERS, 405, null, 'method_not_allowed'],
  ['GET classify', 'GET', CLASSIFY, 405, null, 'method_not_allowed'],
  // no such route
  ['engines (a retired OpenAI route)', 'GET', '/v1/engines', 404, null, 'not_found'],
  ['/v1 itself', 'GET', '/v1', 404, null, 'not_found'],
  ['/v2/models', 'GET', '/v2/models', 404, null, 'not_found'],
  ['a path below chat completions', 'POST', `${CHAT}/extra`, 404, null, 'not_found', { body: JSON.stringify(ok) }],
  ['a model by id', 'GET', `/v1/models/${MODEL}`, 404, null, 'not_found'],
  ['POST to the demo page', 'POST', '/', 404, null, 'not_found', { body: '{}' }],
  ['DELETE the embed script', 'DELETE', '/embed.js', 404, null, 'not_found'],
  ['a pack file that does not exist', 'GET', '/v1/pack/secret.json', 404, null, 'not_found'],
  ['a pack file name of another kind', 'GET', '/v1/pack/.dev.vars', 404, null, 'not_found'],
  ['an embed file that does not exist', 'GET', '/embed/nothing.js', 404, null, 'not_found'],
  // the pack's files are static assets, but served only at /v1/pack/* (behind the key when set)
  ['the pack config at the site root', 'GET', '/packs/default/config.json', 404, null, 'not_found'],
  ['a pack shard at the site root', 'GET', '/packs/default/model-00001-of-00001.safetensors', 404, null, 'not_found'],
  ['the pack tokenizer at the site root', 'GET', '/packs/default/tokenizer.json', 404, null, 'not_found'],
  ['another asset at the site root', 'GET', '/corpus/heldout.txt', 404, null, 'not_found'],
  // path traversal: plain, encoded (%2e%2e, %2f, %5c) and with a NUL
  ['traversal from /v1', 'GET', '/v1/../../etc/passwd', 404, null, 'not_found'],
  ['pack traversal with encoded dots', 'GET', '/v1/pack/%2e%2e/%2e%2e/package.json', 404, null, 'not_found'],
  ['pack traversal with encoded slash', 'GET', '/v1/pack/..%2f..%2fpackage.json', 404, null, 'not_found'],
  ['pack traversal with encoded dots and slash', 'GET', '/v1/pack/%2e%2e%2f%2e%2e%2fwrangler.toml', 404, null, 'not_found'],
  ['pack traversal with encoded backslashes', 'GET', '/v1/pack/..%5c..%5cpackage.json', 404, null, 'not_found'],
  ['pack file name with a NUL', 'GET', '/v1/pack/config.json%00.txt', 404, null, 'not_found'],
  ['pack absolute path', 'GET', '/v1/pack/%2fetc%2fpasswd', 404, null, 'not_found'],
  ['embed traversal with encoded slash', 'GET', '/embed/..%2f..%2fwrangler.toml', 404, null, 'not_found'],
  ['embed traversal with encoded dots', 'GET', '/embed/%2e%2e%2f%2e%2e%2fpackage.json', 404, null, 'not_found'],
  ['pack traversal into the site-root pack', 'GET', '/v1/pack/%2e%2e/%2e%2e/packs/default/config.json', 404, null, 'not_found'],
  ['embed traversal into the pack', 'GET', '/embed/%2e%2e/packs/default/tokenizer.json', 404, null, 'not_found'],
  // media types
  ['chat as text/plain', 'POST', CHAT, 415, null, 'unsupported_media_type', { type: 'text/plain', body: JSON.stringify(ok) }],
  ['chat as a form', 'POST', CHAT, 415, null, 'unsupported_media_type', { type: 'application/x-www-form-urlencoded', body: 'model=edgetron-default' }],
  ['chat as multipart', 'POST', CHAT, 415, null, 'unsupported_media_type', { type: 'multipart/form-data; boundary=x', body: '--x--' }],
  ['chat as XML', 'POST', CHAT, 415, null, 'unsupported_media_type', { type: 'application/xml', body: '<a/>' }],
  ['completions as text/plain', 'POST', COMPLETIONS, 415, null, 'unsupported_media_type', { type: 'text/plain', body: '{"prompt": "a"}' }],
  ['embeddings as text/plain', 'POST', EMBEDDINGS, 415, null, 'unsupported_media_type', { type: 'text/plain', body: '{"input": "a"}' }],
  ['classifiers as text/csv', 'POST', CLASSIFIERS, 415, null, 'unsupported_media_type', { type: 'text/csv', body: 'text,label' }],
  ['classify as text/plain', 'POST', CLASSIFY, 415, null, 'unsupported_media_type', { type: 'text/plain', body: '{}' }],
  // query parameters of the backend advice
  ['backend: simd=maybe', 'GET', '/v1/backend?simd=maybe', 400, 'simd', 'invalid_value'],
  ['backend: negative memory', 'GET', '/v1/backend?memory_gb=-1', 400, 'memory_gb', 'invalid_value'],
];

/** What a hostile request's error must not carry: file paths, module paths, stack frames. */
const LEAK = /(\/work\/|\/home\/|\/tmp\/|node_modules|file:\/\/|\.[jt]s:\d+|\n\s+at\s)/;

async function send(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return SELF.fetch(`http://worker${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, ...init });
}

async function expectError(res: Response, status: number, param: string | null, code: string, message?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const { error } = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(error.type).toBe(status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
  expect(error.code).toBe(code);
  expect(error.param).toBe(param);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
  expect(error.message).not.toMatch(LEAK);
  if (message) expect(error.message).toMatch(message);
}

describe('hostile input', () => {
  it('has at least 60 requests in the corpus', () => expect(BODY_CASES.length + ROUTE_CASES.length).toBeGreaterThanOrEqual(60));

  it.each<BodyCase>(BODY_CASES)('%s (POST %s)', async (_label, path, body, status, param, code, message) => {
    await expectError(await send(path, body), status, param, code, message);
  });

  it.each<RouteCase>(ROUTE_CASES)('%s: %s %s → %i', async (_label, method, path, status, param, code, init) => {
    const res = await SELF.fetch(`http://worker${path}`, { method, ...(init && { headers: { 'content-type': init.type ?? 'application/json' }, body: init.body }) });
    await expectError(res, status, param, code);
  });

  it('keeps serving: health and a real completion, streamed and not, after all of the above', async () => {
    expect((await SELF.fetch('http://worker/health')).status).toBe(200);
    const res = await send(CHAT, { ...ok, seed: 1 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    const stream = await send(CHAT, { ...ok, stream: true });
    expect((await stream.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
