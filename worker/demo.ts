// DESIGN §6: the demo page at GET /. One self-contained HTML file (no external assets): a
// chat box that POSTs to /v1/chat/completions with stream: true, reads the SSE body, and shows
// `reasoning_content` (grey) and `content` as they arrive.

/** The page. */
export const DEMO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgetron</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.3rem; margin-bottom: .2rem; }
  #log { border: 1px solid #ccc; border-radius: 6px; padding: .8rem; min-height: 12rem; white-space: pre-wrap; }
  .user { font-weight: 600; margin-top: .6rem; }
  .reasoning { color: #888; font-style: italic; }
  .error { color: #b00020; }
  form { display: flex; gap: .5rem; margin-top: .8rem; flex-wrap: wrap; }
  input[type=text] { flex: 1; min-width: 12rem; padding: .4rem; }
  small { color: #666; }
</style>
</head>
<body>
<h1>edgetron</h1>
<small>Nemotron 3 (hybrid Mamba-2 / attention / MoE) in a Cloudflare Worker, WASM SIMD. OpenAI-compatible API at <code>/v1</code>.</small>
<div id="log"></div>
<form id="f">
  <input type="text" id="q" placeholder="Say something" autocomplete="off" required>
  <label><input type="checkbox" id="think" checked> thinking</label>
  <label>max tokens <input type="number" id="max" value="64" min="1" max="1024" style="width:5rem"></label>
  <button>Send</button>
</form>
<script type="module">
const log = document.getElementById('log');
const messages = [];
const add = (cls, text) => { const el = document.createElement('div'); el.className = cls; el.textContent = text; log.append(el); return el; };
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = document.getElementById('q');
  messages.push({ role: 'user', content: q.value });
  add('user', q.value);
  q.value = '';
  const models = await (await fetch('/v1/models')).json();
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: models.data[0].id, messages, stream: true,
      max_tokens: Number(document.getElementById('max').value),
      chat_template_kwargs: { enable_thinking: document.getElementById('think').checked },
    }),
  });
  if (!res.ok) { add('error', (await res.json()).error.message); return; }
  const reasoning = add('reasoning', '');
  const answer = add('answer', '');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let at;
    while ((at = buf.indexOf('\\n\\n')) >= 0) {
      const line = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) { add('error', chunk.error.message); continue; }
      const d = chunk.choices[0]?.delta ?? {};
      if (d.reasoning_content) reasoning.textContent += d.reasoning_content;
      if (d.content) answer.textContent += d.content;
    }
  }
  messages.push({ role: 'assistant', content: answer.textContent });
});
</script>
</body>
</html>
`;
