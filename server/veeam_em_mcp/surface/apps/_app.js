// What every view shares (inlined into each view by apps/__init__.py): the App protocol, spoken by hand to stay
// small (JSON-RPC over postMessage with the host, window.parent: ui/initialize, the tool-result notification,
// tools/call), the host's theme, and helpers that only ever set EM's text as text.
"use strict";
const App = (() => {
  let nextId = 1, onResult = () => {};
  const pending = new Map();
  const send = (msg) => window.parent.postMessage(Object.assign({ jsonrpc: "2.0" }, msg), "*");
  const request = (method, params) => {
    const id = nextId++;
    send({ id, method, params });
    return new Promise((ok, ko) => pending.set(id, { ok, ko }));
  };
  const theme = (ctx) => { if (ctx && ctx.theme) document.documentElement.dataset.theme = ctx.theme; };
  window.addEventListener("message", (e) => {
    if (e.source !== window.parent) return;
    const m = e.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.id !== undefined && !m.method) {
      const p = pending.get(m.id);
      if (p) { pending.delete(m.id); m.error ? p.ko(m.error) : p.ok(m.result); }
    } else if (m.method === "ui/notifications/tool-result") onResult(m.params);
    else if (m.method === "ui/notifications/host-context-changed") theme(m.params);
    else if (m.id !== undefined) send({ id: m.id, result: {} });  // ping, teardown: nothing to hold on to
  });
  const structured = (result) => {
    if (result && result.structuredContent) return result.structuredContent;
    const t = result && (result.content || []).find((c) => c.type === "text");
    try { return t ? JSON.parse(t.text.slice(t.text.indexOf("{"))) : null; } catch (err) { return null; }
  };
  return {
    structured,
    async start(name, handler) {
      onResult = handler;
      try {
        const r = await request("ui/initialize", { protocolVersion: "2026-01-26", appInfo: { name, version: "1" },
          appCapabilities: {} });
        theme(r && r.hostContext);
      } catch (err) { /* a host without the handshake still sends results */ }
      send({ method: "ui/notifications/initialized", params: {} });
    },
    // A tool call through the host; its structured result, or an Error saying why there is none.
    async call(name, args) {
      const r = await request("tools/call", { name, arguments: args });
      const data = structured(r);
      if (!data || r.isError) throw new Error(r && r.isError ? "the tool call failed" : "no result");
      return data;
    },
    sized() {
      const d = document.documentElement;
      send({ method: "ui/notifications/size-changed", params: { width: d.scrollWidth, height: d.scrollHeight } });
    },
  };
})();
const $ = (id) => document.getElementById(id);
// An element with properties/attributes and children (strings become text nodes: never parsed as HTML).
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k in e && !k.startsWith("aria") && k !== "role") e[k] = v; else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.filter((c) => c != null && c !== false));
  return e;
}
function details(pairs) {  // a <dl> of the pairs whose value is known
  const dl = el("dl");
  for (const [k, v, cls] of pairs) if (v != null && v !== "") dl.append(el("dt", {}, k), el("dd", { className: cls || "" }, String(v)));
  return dl;
}
const bytes = (n) => { if (n == null) return "unknown"; const u = ["B", "KB", "MB", "GB", "TB", "PB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i += 1; } return `${n.toFixed(n < 10 && i ? 1 : 0)} ${u[i]}`; };
const hours = (h) => h == null ? "unknown" : h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} days`;
const ms = (t) => Date.parse(t);
