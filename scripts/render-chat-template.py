#!/usr/bin/env python3
# Expected renderings for edgetron's chat-template conformance suite
# (tests/cli/commands/template.test.ts): each conversation of
# tests/fixtures/chat-template/conversations.json rendered by Python's Jinja2 the way Hugging Face
# transformers' apply_chat_template renders it (transformers/utils/chat_template_utils.py,
# _compile_jinja_template and render_jinja_template):
#   ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]),
#   tojson = json.dumps(ensure_ascii=False, sort_keys=False), globals raise_exception and
#   strftime_now, render(messages=…, tools=… or None, documents=None, add_generation_prompt=True,
#   **special tokens, **chat_template_kwargs).
# The conversations are OpenAI request bodies; what an OpenAI-compatible server (vLLM) does before
# apply_chat_template is done here the same way: tool-call `arguments` JSON strings are parsed with
# json.loads, `chat_template_kwargs` become template kwargs, and a case with "noThink" renders
# with enable_thinking=False (the CLI's --no-think). `"tools": "$tools"` names the file's shared
# tool list.
#
# snippets.json (small templates over JSON variables, each aimed at one place where JavaScript
# and Python print values differently) is rendered the same way into snippets.expected.json.
# Regenerate (needs only jinja2, e.g. 3.1.6; writes expected/<case>.txt, or expected/<case>.error.txt
# with the TemplateError message, and snippets.expected.json):
#   python3 scripts/render-chat-template.py tests/fixtures/chat-template
# The outputs are committed; the test never runs Python.

import copy
import json
import sys
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

# tokenizer_config.json special tokens of tests/fixtures/nemotron-h-tiny/dense/hf, as
# apply_chat_template passes them (its special_tokens_map)
SPECIAL_TOKENS = {'bos_token': '<s>', 'eos_token': '<|im_end|>', 'unk_token': '<unk>', 'pad_token': '<unk>'}


def compile_template(source: str) -> jinja2.Template:
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters['tojson'] = tojson
    env.globals['raise_exception'] = raise_exception
    env.globals['strftime_now'] = strftime_now
    return env.from_string(source)


def openai_to_hf(messages):
    """Tool-call arguments arrive as JSON strings; templates iterate them as mappings."""
    out = copy.deepcopy(messages)
    for m in out:
        for call in m.get('tool_calls') or []:
            fn = call.get('function', {})
            if isinstance(fn.get('arguments'), str):
                fn['arguments'] = json.loads(fn['arguments'])
    return out


def main(folder: str) -> None:
    root = Path(folder)
    template = compile_template((root / 'nemotron3-style.jinja').read_text(encoding='utf-8'))
    suite = json.loads((root / 'conversations.json').read_text(encoding='utf-8'))
    out_dir = root / 'expected'
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob('*.txt'):
        old.unlink()
    for case in suite['cases']:
        request = case['request']
        tools = request.get('tools')
        if tools == '$tools':
            tools = suite['tools']
        kwargs = dict(request.get('chat_template_kwargs') or {})
        if case.get('noThink'):
            kwargs['enable_thinking'] = False
        try:
            text = template.render(
                messages=openai_to_hf(request['messages']),
                tools=tools,
                documents=None,
                add_generation_prompt=True,
                **SPECIAL_TOKENS,
                **kwargs,
            )
            (out_dir / f"{case['name']}.txt").write_bytes(text.encode('utf-8'))
        except jinja2.exceptions.TemplateError as err:
            (out_dir / f"{case['name']}.error.txt").write_bytes(str(err).encode('utf-8'))
        print(case['name'])
    print(f'jinja2 {jinja2.__version__}: {len(suite["cases"])} cases → {out_dir}')
    # snippets.json: small templates over JSON variables, one Python-vs-JavaScript difference each
    results = []
    for snippet in json.loads((root / 'snippets.json').read_text(encoding='utf-8')):
        entry = {'name': snippet['name']}
        try:
            entry['output'] = compile_template(snippet['template']).render(**snippet['variables'])
        except jinja2.exceptions.TemplateError as err:
            entry['error'] = str(err)
        results.append(entry)
    text = json.dumps(results, ensure_ascii=False, indent=1) + '\n'
    (root / 'snippets.expected.json').write_bytes(text.encode('utf-8'))
    print(f'{len(results)} snippets → {root / "snippets.expected.json"}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'tests/fixtures/chat-template')
