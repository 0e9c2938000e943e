// The embed script's entry (built by scripts/build-embed.mjs into /embed.js): defines
// <edgetron-chat>. Only the page-side code is here; the engine (engine.js), the GPU device
// thread and the WASM kernels are fetched when local mode starts.

import { EdgetronChat } from './element.js';

export { EdgetronChat, type SendOptions, type SendResult } from './element.js';

if (!customElements.get('edgetron-chat')) customElements.define('edgetron-chat', EdgetronChat);
