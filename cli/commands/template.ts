// `edgetron template --model PATH --messages FILE.json [--tools FILE.json] [--no-think]`: the
// prompt the model's chat template renders for an OpenAI-style conversation (spec §15.2–15.3),
// exactly what the API renders before tokenising. The conversation goes through the API's own
// request validation (serve/validate.ts: tool-call `arguments` JSON strings parsed into objects,
// reasoning_content passed through, chat_template_kwargs such as truncate_history_thinking kept)
// and its own rendering (serve/run.ts chatPrompt), so the two cannot drift apart.

import { readFile } from 'node:fs/promises';
import { MissingTokenizerError } from '../../engine/core/errors.js';
import { parseConfigJson } from '../../engine/formats/config-json.js';
import { TextCodec } from '../../engine/text/text.js';
import { InvalidRequestError } from '../../serve/errors.js';
import { chatPrompt } from '../../serve/run.js';
import { parseChatRequest } from '../../serve/validate.js';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { requiredOpt, stringOpt } from '../args.js';
import type { Command } from '../command.js';
import { ChatInputError } from '../errors.js';
import { resolveModelArg } from '../model-arg.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Request fields a conversation file may carry besides `messages` (the rest of a request body is ignored). */
const REQUEST_FIELDS = ['tools', 'tool_choice', 'chat_template_kwargs', 'reasoning_effort'] as const;

/** A model id for the validator; the file's own `model` field is ignored. */
const MODEL_ID = 'template';

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ChatInputError(path, err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  return parseConfigJson(text, path);
}

/**
 * The chat request body of the files: `--messages` holds an array of messages or a request
 * body (`messages`, `tools`, `tool_choice`, `chat_template_kwargs`, `reasoning_effort`);
 * `--tools` an array of tools (or `{ "tools": [...] }`), which replaces the body's; `--no-think`
 * sets chat_template_kwargs.enable_thinking to false.
 */
function requestBody(messagesFile: unknown, messagesPath: string, toolsFile: unknown, noThink: boolean): Json {
  const body: Json = {};
  if (Array.isArray(messagesFile)) body.messages = messagesFile;
  else if (isObject(messagesFile)) {
    body.messages = messagesFile.messages;
    for (const key of REQUEST_FIELDS) if (messagesFile[key] !== undefined) body[key] = messagesFile[key];
  } else throw new ChatInputError(messagesPath, 'must hold a JSON array of messages or a chat request object with "messages"');
  if (toolsFile !== undefined) body.tools = isObject(toolsFile) ? toolsFile.tools : toolsFile;
  if (noThink) {
    const kwargs = body.chat_template_kwargs;
    body.chat_template_kwargs = { ...(isObject(kwargs) ? kwargs : {}), enable_thinking: false };
  }
  return body;
}

/**
 * The `template` command (dispatched by cli/main.ts).
 * @example
 * main(['template', '--model', 'models/nano', '--messages', 'chat.json', '--no-think'], io); // prints '<|im_start|>system\n…'
 */
export const templateCommand: Command = {
  name: 'template',
  summary: "print the prompt the model's chat template renders for a conversation",
  help: `usage: edgetron template [--model PATH] --messages FILE.json [--tools FILE.json] [--no-think]
                         [--chat-template FILE.jinja]

Prints the prompt the model's chat template renders for an OpenAI-style conversation, exactly
as the API renders it before tokenising (nothing is added after it, not even a newline). The
conversation is validated as a /v1/chat/completions request: tool-call "arguments" JSON strings
are parsed into objects, reasoning_content of earlier assistant turns is passed through, and a
malformed message is an error naming the field.

  --model PATH             checkpoint folder, .gguf file, edge pack, Hub ORG/NAME[@REV][:TAG]
                           (see pull), or "default" (the default)
  --messages FILE.json     an array of messages, or a request body with "messages" and
                           optionally "tools", "tool_choice", "reasoning_effort" and
                           "chat_template_kwargs" (e.g. {"truncate_history_thinking": false})
  --tools FILE.json        an array of OpenAI tools (replaces the body's "tools")
  --no-think               render with enable_thinking = false
  --chat-template FILE     render this Jinja template instead of the checkpoint's`,
  options: {
    model: { type: 'string' },
    messages: { type: 'string' },
    tools: { type: 'string' },
    'no-think': { type: 'boolean' },
    'chat-template': { type: 'string' },
  },
  async run({ values }, io) {
    const messagesPath = requiredOpt('template', values, 'messages');
    const toolsPath = stringOpt(values, 'tools');
    const templatePath = stringOpt(values, 'chat-template');
    const messagesFile = await readJsonFile(messagesPath);
    const toolsFile = toolsPath === undefined ? undefined : await readJsonFile(toolsPath);
    const body = requestBody(messagesFile, messagesPath, toolsFile, values['no-think'] === true);
    let request;
    try {
      request = parseChatRequest(body, MODEL_ID, Number.MAX_SAFE_INTEGER, false);
    } catch (err) {
      if (!(err instanceof InvalidRequestError)) throw err;
      const file = toolsPath !== undefined && err.param?.startsWith('tools') ? toolsPath : messagesPath;
      throw new ChatInputError(file, err.message);
    }
    const chatTemplate = templatePath === undefined ? undefined : await readFile(templatePath, 'utf8').catch((err: Error) => {
      throw new ChatInputError(templatePath, err.message);
    });
    const ckpt = await openCheckpoint(resolveModelPath(await resolveModelArg(stringOpt(values, 'model'), io)));
    try {
      if (ckpt.tokenizerJson === null) throw new MissingTokenizerError(ckpt.path);
      const config = { ...ckpt.tokenizerConfig, ...(chatTemplate !== undefined && { chat_template: chatTemplate }) };
      const text = TextCodec.fromJson(ckpt.tokenizerJson, config, ckpt.path);
      io.stdout.write(chatPrompt(text, request));
    } finally {
      await ckpt.store.close();
    }
  },
};
