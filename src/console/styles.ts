/**
 * The console's stylesheet, served as /console/app.css (the policy allows styles from 'self'
 * only: no inline style). Layout holds from phone width (tables become labelled cards under
 * 40rem) to desktop; focus is always visible; colours keep WCAG AA contrast.
 */
export const CONSOLE_CSS = `
:root {
  color-scheme: light;
  --bg: #f5f6f8;
  --surface: #ffffff;
  --text: #1c2230;
  --muted: #566074;
  --border: #d9dde5;
  --accent: #4a36c4;
  --accent-hover: #3a2aa0;
  --accent-soft: #ece9fb;
  --danger: #b3261e;
  --danger-soft: #fdecea;
  --ok: #1e6b3a;
  --ok-soft: #e5f4ea;
  --focus: #1a73e8;
  --radius: 8px;
  --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif;
  font-size: 16px;
  line-height: 1.5;
  color: var(--text);
  background: var(--bg);
}
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; }
[hidden] { display: none !important; }
a { color: var(--accent); }
a:hover { color: var(--accent-hover); }
code, .mono { font-family: var(--mono); font-size: 0.92em; overflow-wrap: anywhere; }
h1 { font-size: 1.6rem; margin: 0; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
h3 { font-size: 1rem; margin: 0; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--surface); padding: 0.5rem 1rem; z-index: 10; border-radius: var(--radius); }
.skip-link:focus { top: 0.5rem; }

.topbar {
  display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: 0.75rem clamp(1rem, 4vw, 2rem); background: #161a2b; color: #fff;
}
.brand { display: inline-flex; align-items: center; gap: 0.6rem; color: #fff; font-weight: 650; text-decoration: none; }
.brand:hover { color: #fff; }
.brand-mark { width: 1.4rem; height: 1.4rem; border-radius: 6px; background: linear-gradient(135deg, #7c6cf0, #31c48d); }
.topbar .button.quiet { color: #fff; border-color: #4a5068; background: transparent; }
.topbar .button.quiet:hover { background: #262b40; }

main { max-width: 72rem; margin: 0 auto; padding: 1.5rem clamp(1rem, 4vw, 2rem) 4rem; }
main:focus { outline: none; }

.page-head { display: flex; align-items: center; flex-wrap: wrap; gap: 0.75rem; margin: 0.25rem 0 1rem; }
.breadcrumb { color: var(--muted); font-size: 0.95rem; overflow-wrap: anywhere; }

.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: 1.25rem; margin: 0 0 1rem; }
.card.narrow { max-width: 32rem; margin: 2rem auto; }
.help { color: var(--muted); font-size: 0.92rem; margin: 0.25rem 0 0.75rem; }
.empty { color: var(--muted); padding: 1rem 0; }

.badge { display: inline-block; justify-self: start; padding: 0.1rem 0.6rem; border-radius: 999px; background: var(--ok-soft); color: var(--ok); font-size: 0.85rem; font-weight: 600; }

.alert { display: flex; flex-wrap: wrap; align-items: center; gap: 0.75rem; padding: 0.75rem 1rem; margin: 0 0 1rem; border-radius: var(--radius); background: var(--danger-soft); color: var(--danger); border: 1px solid #f3c2bd; }
.alert p { margin: 0; flex: 1 1 16rem; }
.field-error { color: var(--danger); background: var(--danger-soft); border-radius: var(--radius); padding: 0.5rem 0.75rem; margin: 0.75rem 0 0; }
.status {
  position: fixed; left: 50%; bottom: 1.25rem; transform: translateX(-50%); z-index: 20;
  max-width: min(36rem, calc(100vw - 2rem)); margin: 0; padding: 0.65rem 1rem; border-radius: var(--radius);
  background: #161a2b; color: #fff; box-shadow: 0 6px 24px rgb(0 0 0 / 0.2); opacity: 0; pointer-events: none; transition: opacity 0.15s;
}
.status.visible { opacity: 1; }

.button {
  display: inline-flex; align-items: center; justify-content: center; gap: 0.4rem; min-height: 2.5rem;
  padding: 0.45rem 1rem; border-radius: var(--radius); border: 1px solid var(--border); background: var(--surface);
  color: var(--text); font: inherit; font-weight: 600; cursor: pointer;
}
.button:hover { background: #eef0f4; }
.button:disabled { opacity: 0.6; cursor: progress; }
.button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.button.primary:hover { background: var(--accent-hover); }
.button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.button.quiet { background: transparent; border-color: transparent; }
.button.quiet:hover { background: #e8eaf0; }
.button.small { min-height: 2rem; padding: 0.25rem 0.75rem; font-size: 0.9rem; }
.button.icon { min-width: 2.5rem; padding: 0.25rem 0.5rem; font-size: 1.2rem; line-height: 1; }

.tabs { display: flex; gap: 0.25rem; border-bottom: 1px solid var(--border); margin: 0 0 1.25rem; overflow-x: auto; }
.tabs a { padding: 0.6rem 1rem; color: var(--muted); text-decoration: none; font-weight: 600; border-bottom: 3px solid transparent; white-space: nowrap; }
.tabs a:hover { color: var(--text); }
.tabs a[aria-current="page"] { color: var(--accent); border-bottom-color: var(--accent); }

.copy-field {
  display: flex; width: 100%; align-items: center; justify-content: space-between; gap: 1rem; text-align: left;
  padding: 0.75rem 1rem; border: 1px dashed var(--accent); border-radius: var(--radius); background: var(--accent-soft);
  color: var(--text); font: inherit; cursor: copy;
}
.copy-field:hover { background: #e1dcfa; }
.copy-label { color: var(--accent); font-weight: 600; font-size: 0.9rem; flex: none; }

.details { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 0.5rem 1.5rem; margin: 0; }
.details dt { color: var(--muted); }
.details dd { margin: 0; overflow-wrap: anywhere; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.75rem; margin: 0 0 1rem; }
.toolbar .help { margin: 0; }

.table-wrap { overflow-x: auto; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); }
.data-table { width: 100%; border-collapse: collapse; }
.data-table th, .data-table td { text-align: left; padding: 0.7rem 0.75rem; border-bottom: 1px solid var(--border); vertical-align: middle; }
.data-table thead th { font-size: 0.85rem; color: var(--muted); font-weight: 600; background: #fafbfc; }
.data-table tbody tr:last-child > * { border-bottom: none; }
.data-table tbody th { font-weight: 600; overflow-wrap: anywhere; }
.data-table tr.new { background: var(--ok-soft); }
.row-actions { text-align: right; width: 3.5rem; }

.key-button {
  display: inline-flex; align-items: center; gap: 0.6rem; padding: 0.3rem 0.6rem; border-radius: 6px;
  border: 1px solid var(--border); background: #fafbfc; color: var(--text); font: inherit; cursor: copy;
}
.key-button:hover { border-color: var(--accent); background: var(--accent-soft); }

.menu {
  margin: 0; padding: 0.35rem; min-width: 10rem; border: 1px solid var(--border); border-radius: var(--radius);
  background: var(--surface); box-shadow: 0 8px 28px rgb(0 0 0 / 0.16);
  position-area: bottom span-left; position-try-fallbacks: flip-block; margin-top: 0.25rem;
}
.menu-item { display: block; width: 100%; padding: 0.55rem 0.75rem; border: 0; border-radius: 6px; background: none; text-align: left; font: inherit; color: var(--text); cursor: pointer; }
.menu-item:hover, .menu-item:focus-visible { background: #eef0f4; }
.menu-item.danger { color: var(--danger); }

.dialog { width: min(34rem, calc(100vw - 1.5rem)); max-height: calc(100vh - 2rem); padding: 1.5rem; border: 1px solid var(--border); border-radius: 12px; color: var(--text); }
.dialog.wide { width: min(52rem, calc(100vw - 1.5rem)); }
.dialog::backdrop { background: rgb(22 26 43 / 0.55); }
.dialog-head { display: flex; align-items: center; justify-content: space-between; gap: 1rem; }

.form label { display: block; font-weight: 600; margin: 0.9rem 0 0.3rem; }
.form input[type="text"], .form input[type="password"], .form select, .form textarea {
  width: 100%; padding: 0.6rem 0.75rem; border: 1px solid #aab1bf; border-radius: 6px; font: inherit; background: #fff; color: var(--text);
}
.form textarea { font-family: ui-monospace, monospace; font-size: 0.9rem; resize: vertical; }
.form input:focus-visible, .form select:focus-visible, .form textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; }
.choices { border: 0; padding: 0; margin: 1rem 0 0.5rem; }
.choices legend { font-weight: 600; padding: 0; margin-bottom: 0.4rem; }
.form label.choice { display: flex; gap: 0.75rem; align-items: flex-start; font-weight: normal; margin: 0 0 0.5rem; padding: 0.6rem 0.75rem; border: 1px solid var(--border); border-radius: var(--radius); cursor: pointer; }
.choice:has(input:checked) { border-color: var(--accent); background: var(--accent-soft); }
.choice input { margin-top: 0.3rem; accent-color: var(--accent); }
.choice strong { display: block; }
.choice .help { display: block; margin: 0; }
details { margin: 0.75rem 0; }
summary { cursor: pointer; font-weight: 600; color: var(--accent); padding: 0.25rem 0; }
.actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 0.5rem; margin-top: 1.25rem; }

.examples-bar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.75rem; margin: 0.5rem 0 1rem; }
.segmented { display: inline-flex; border: 1px solid var(--border); border-radius: var(--radius); overflow: hidden; }
.segmented [role="tab"] { padding: 0.45rem 1.25rem; border: 0; background: var(--surface); font: inherit; font-weight: 600; color: var(--muted); cursor: pointer; }
.segmented [role="tab"][aria-selected="true"] { background: var(--accent); color: #fff; }
.toggle { display: inline-flex; align-items: center; gap: 0.4rem; color: var(--muted); cursor: pointer; }
.snippet { margin: 0 0 1rem; }
.snippet-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 0.75rem; margin-bottom: 0.4rem; }
.snippet-head h3 { flex: 1 1 auto; }
.filename { color: var(--muted); font-size: 0.85rem; }
.snippet pre { margin: 0; padding: 0.85rem 1rem; border-radius: var(--radius); background: #161a2b; color: #e8eaf6; overflow-x: auto; font-size: 0.88rem; line-height: 1.45; }
.snippet pre code { overflow-wrap: normal; white-space: pre; }
.explain-result { margin-top: 0.75rem; }
.explain-result .verdict { font-weight: 600; border-radius: var(--radius); padding: 0.5rem 0.75rem; margin: 0 0 0.5rem; }
.explain-result .verdict.allowed { color: var(--ok); background: var(--ok-soft); }
.explain-result .verdict.refused { color: var(--danger); background: var(--danger-soft); }
.explain-result pre { margin: 0; padding: 0.6rem 0.8rem; border-radius: var(--radius); background: #161a2b; color: #e8eaf6; overflow-x: auto; font-size: 0.88rem; }
.explain-result pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
.usage-bar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem 1rem; margin-bottom: 0.75rem; }
.usage-bar p { margin: 0.5rem 0; }
.range-picker { display: inline-flex; margin: 0; padding: 0; border: 1px solid var(--border); border-radius: var(--radius); overflow: hidden; }
.range-picker label { position: relative; padding: 0.4rem 0.9rem; font-weight: 600; color: var(--muted); background: var(--surface); cursor: pointer; }
.range-picker label + label { border-left: 1px solid var(--border); }
.range-picker input { position: absolute; inset: 0; margin: 0; opacity: 0; cursor: pointer; }
.range-picker label:has(input:checked) { background: var(--accent); color: #fff; }
.range-picker label:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: -3px; }
.usage-traffic { grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); }
.usage dl { display: grid; gap: 0.5rem 1rem; margin: 0 0 0.75rem; }
.usage dl > div { min-width: 0; }
.usage dt { color: var(--muted); font-size: 0.85rem; }
.usage dd { margin: 0; overflow-wrap: anywhere; }
.usage-totals { grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); }
.usage-totals dd { font-size: 1.5rem; font-weight: 600; }
.usage-last { grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
.usage h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
.usage-empty { font-weight: 600; margin: 0.5rem 0 0.25rem; }
.usage-reasons { margin: 0 0 0.75rem; padding-left: 1.25rem; }
.usage-figure { margin: 0.5rem 0 0; display: grid; grid-template-columns: auto minmax(0, 1fr); grid-template-rows: 10rem auto auto; gap: 0.25rem 0.5rem; }
.usage-axis-y { display: flex; flex-direction: column; justify-content: space-between; align-items: flex-end; color: var(--muted); font-size: 0.75rem; line-height: 1; }
.usage-plot { min-width: 0; border-bottom: 1px solid var(--border); }
.usage-chart { display: block; width: 100%; height: 100%; }
.usage-chart .grid { fill: none; stroke: var(--border); stroke-width: 1; vector-effect: non-scaling-stroke; }
.usage-chart .requests { fill: var(--accent); fill-opacity: 0.75; }
.usage-chart .refused { fill: var(--danger); }
.usage-axis-x { grid-column: 2; display: flex; justify-content: space-between; color: var(--muted); font-size: 0.75rem; }
.usage-legend { grid-column: 1 / -1; display: flex; flex-wrap: wrap; align-items: center; gap: 0.35rem; font-size: 0.85rem; }
.usage-legend .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-left: 0.5rem; }
.usage-legend .swatch:first-child { margin-left: 0; }
.swatch.requests { background: var(--accent); opacity: 0.75; }
.swatch.refused { background: var(--danger); }
.notes { color: var(--muted); font-size: 0.9rem; padding-left: 1.2rem; margin: 0.5rem 0 0; }

@media (max-width: 40rem) {
  h1 { font-size: 1.35rem; }
  .card { padding: 1rem; }
  .details { grid-template-columns: 1fr; gap: 0.1rem; }
  .details dd { margin-bottom: 0.6rem; }
  .toolbar .button { width: 100%; }
  .table-wrap { background: transparent; border: 0; }
  .data-table, .data-table tbody, .data-table tr, .data-table th, .data-table td { display: block; width: 100%; }
  /* Column headers stay in the accessibility tree (cells keep their headers); on screen each cell shows its own label instead. */
  .data-table thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  .data-table tr { position: relative; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); margin: 0 0 0.75rem; padding: 0.5rem 0; }
  .data-table th, .data-table td { border: 0; padding: 0.3rem 1rem; display: grid; grid-template-columns: 7rem 1fr; gap: 0.75rem; align-items: center; }
  .data-table [data-label]::before { content: attr(data-label) / ""; color: var(--muted); font-size: 0.85rem; font-weight: 500; }
  .data-table tbody th { font-size: 1.05rem; padding-right: 3.5rem; }
  .data-table td.row-actions { position: absolute; top: 0.35rem; right: 0.25rem; width: auto; padding: 0; display: block; }
  .key-button { max-width: 100%; }
  .dialog { padding: 1.1rem; }
  .actions .button { flex: 1 1 auto; }
}
@media (prefers-reduced-motion: reduce) { .status { transition: none; } }
`;

/** The console's icon, so browsers do not ask the data plane for /favicon.ico. */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#7c6cf0"/><stop offset="1" stop-color="#31c48d"/></linearGradient></defs><rect width="32" height="32" rx="7" fill="url(#g)"/><path d="M7 21l6-7 5 4 7-9" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
