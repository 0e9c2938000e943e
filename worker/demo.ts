// DESIGN §6: the demo page at GET /. It is the embed script's own showcase: one
// <edgetron-chat> from /embed.js (embed/), with a mode switch (auto: in this tab when the
// device can, else the worker; local; remote). The page is served cross-origin isolated
// (worker/app.ts) so the webgpu backend can run in the tab.

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
  small { color: #666; display: block; margin-bottom: .8rem; }
  edgetron-chat { --edgetron-accent: #76b900; --edgetron-accent-fg: #111; --edgetron-height: 32rem; }
</style>
<!-- the mode from ?mode= is set before /embed.js defines the element (module scripts run in order) -->
<script type="module">
const chat = document.getElementById('chat');
const mode = document.getElementById('mode');
const wanted = new URLSearchParams(location.search).get('mode');
if (wanted) chat.setAttribute('mode', (mode.value = wanted));
mode.addEventListener('change', () => chat.setAttribute('mode', mode.value));
</script>
<script type="module" src="/embed.js"></script>
</head>
<body>
<h1>edgetron</h1>
<small>Nemotron 3 (hybrid Mamba-2 / attention / MoE) in this tab (WebGPU or WASM SIMD) or in a Cloudflare Worker. OpenAI-compatible API at <code>/v1</code>.
Embed it anywhere: <code>&lt;script type="module" src="https://YOUR-WORKER/embed.js"&gt;&lt;/script&gt; &lt;edgetron-chat&gt;&lt;/edgetron-chat&gt;</code></small>
<p><label for="mode">Run the model</label>
<select id="mode">
  <option value="auto">auto</option>
  <option value="local">in this tab</option>
  <option value="remote">on the worker</option>
</select></p>
<edgetron-chat id="chat" mode="auto" max-tokens="128" thinking="off"></edgetron-chat>
</body>
</html>
`;
