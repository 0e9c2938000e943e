// The element's shadow DOM: markup and styles. Nothing leaks into the host page (shadow DOM),
// and the host themes it through CSS custom properties on the element:
//   --edgetron-font, --edgetron-fg, --edgetron-bg, --edgetron-muted, --edgetron-accent,
//   --edgetron-accent-fg, --edgetron-border, --edgetron-radius, --edgetron-height

/** The stylesheet of the shadow root. */
export const STYLES = `
:host { display: block; font: var(--edgetron-font, 15px/1.5 system-ui, sans-serif); color: var(--edgetron-fg, #1b1b1b);
  background: var(--edgetron-bg, #fff); border: 1px solid var(--edgetron-border, #ccc); border-radius: var(--edgetron-radius, 8px); }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.chat { display: flex; flex-direction: column; gap: .5rem; padding: .75rem; height: var(--edgetron-height, 28rem); }
.status { font-size: .85em; color: var(--edgetron-muted, #666); min-height: 1.2em; }
.status.error, .error { color: #b00020; }
.download { display: flex; align-items: center; gap: .5rem; font-size: .85em; }
.download[hidden] { display: none; }
.download progress { flex: 1; accent-color: var(--edgetron-accent, #2563eb); }
.log { flex: 1; overflow-y: auto; margin: 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: .6rem; }
.turn { white-space: pre-wrap; overflow-wrap: anywhere; }
.turn.user { align-self: flex-end; background: color-mix(in srgb, var(--edgetron-accent, #2563eb) 12%, transparent); padding: .3rem .6rem; border-radius: var(--edgetron-radius, 8px); }
.thinking { color: var(--edgetron-muted, #666); font-size: .9em; border-left: 2px solid var(--edgetron-border, #ccc); padding-left: .5rem; }
.thinking[hidden] { display: none; }
.thinking summary { cursor: pointer; }
form { display: flex; flex-direction: column; gap: .4rem; }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
textarea { width: 100%; resize: vertical; font: inherit; color: inherit; background: inherit; padding: .4rem;
  border: 1px solid var(--edgetron-border, #ccc); border-radius: calc(var(--edgetron-radius, 8px) / 2); }
input[type=number] { width: 5.5rem; font: inherit; }
button { font: inherit; padding: .3rem .8rem; border-radius: calc(var(--edgetron-radius, 8px) / 2); border: 1px solid var(--edgetron-border, #ccc);
  background: inherit; color: inherit; cursor: pointer; }
button.primary { background: var(--edgetron-accent, #2563eb); color: var(--edgetron-accent-fg, #fff); border-color: transparent; }
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 2px solid var(--edgetron-accent, #2563eb); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** The markup of the shadow root (ids are local to it). */
export const MARKUP = `
<section class="chat" part="chat" aria-label="Chat with the model">
  <div class="status" id="status" role="status" aria-live="polite"></div>
  <div class="download" id="download" hidden>
    <label for="progress">Model download</label>
    <progress id="progress" max="100" value="0"></progress>
    <span id="progress-text" aria-live="polite"></span>
  </div>
  <ol class="log" id="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
  <form id="form">
    <label class="visually-hidden" for="input">Message</label>
    <textarea id="input" rows="2" placeholder="Message (Enter sends, Shift+Enter new line, Esc stops)"></textarea>
    <div class="row">
      <label><input type="checkbox" id="think" checked> Thinking</label>
      <label for="budget">Thinking budget</label>
      <input type="number" id="budget" min="0" step="1" value="" placeholder="no limit" aria-describedby="budget-hint">
      <span id="budget-hint" class="visually-hidden">Most reasoning tokens; empty for no limit</span>
      <span style="flex:1"></span>
      <button type="button" id="stop" disabled>Stop</button>
      <button type="button" id="regenerate" disabled>Regenerate</button>
      <button type="submit" id="send" class="primary">Send</button>
    </div>
  </form>
</section>
`;
