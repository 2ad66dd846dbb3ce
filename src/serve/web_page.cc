// The page at /: pick one of the model's tasks (from /info), type a text (a pair, a question and
// its context, a query and its passages), see the answers as scored bars, and the tokens.
// Plain HTML + JS, no external resources. tests/browser/serve_browser_test.py drives it.
#include "serve/assets.h"

namespace ernie::serve {

const char* web_page_html() {
  return R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ernie serve</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; margin-bottom: .2rem; }
  #model { color: #666; font-size: .9rem; margin-bottom: 1rem; }
  select { font: inherit; padding: .3rem; margin-bottom: .5rem; }
  textarea, input { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; margin-bottom: .5rem; }
  button { font: inherit; padding: .4rem 1.2rem; }
  #status { margin: .8rem 0; color: #a00; min-height: 1.2rem; }
  .row { display: grid; grid-template-columns: 10rem 1fr 4.5rem; gap: .6rem; align-items: center; margin: .25rem 0; }
  .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar { background: #eee; height: 1rem; border-radius: 3px; overflow: hidden; }
  .fill { background: #3b7dd8; height: 100%; }
  .score { text-align: right; font-variant-numeric: tabular-nums; }
  #tokens { margin-top: 1rem; line-height: 2; }
  .token { border: 1px solid #ccc; border-radius: 3px; padding: .1rem .3rem; margin-right: .25rem; font-family: monospace; }
  .token.special { background: #f3f3f3; color: #777; }
</style>
</head>
<body>
<h1>ernie serve</h1>
<div id="model">loading model information...</div>
<form id="form">
  <select id="task"></select>
  <textarea id="text" rows="4" placeholder="Type a text to classify" autofocus></textarea>
  <textarea id="pair" rows="2" placeholder="Second text of a pair (optional)"></textarea>
  <input id="apikey" type="password" placeholder="API key (only if the server was started with --api-key)">
  <button id="submit" type="submit">Run</button>
</form>
<div id="status"></div>
<div id="results"></div>
<div id="tokens"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("apikey").value;
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}
async function call(method, path, body) {
  const r = await fetch(path, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error) ? data.error + " (" + r.status + ")" : "HTTP " + r.status);
  return data;
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
// Per task: the placeholders of the two boxes, the request, and its answer as [{label, score}].
const TASKS = {
  "text-classification": { text: "Type a text to classify", pair: "Second text of a pair (optional)",
    run: async (t, p) => call("POST", "/predict", { inputs: p ? [t, p] : t }) },
  "token-classification": { text: "Type a text to tag", pair: null,
    run: async (t) => (await call("POST", "/token-classification", { inputs: t, parameters: { aggregation_strategy: "simple" } }))
      .map((e) => ({ label: e.entity_group + ": " + e.word, score: e.score })) },
  "question-answering": { text: "Question", pair: "Context",
    run: async (t, p) => { const a = await call("POST", "/question-answering", { inputs: { question: t, context: p }, parameters: { top_k: 3 } });
      return (Array.isArray(a) ? a : [a]).map((x) => ({ label: x.answer, score: x.score })); } },
  "fill-mask": { text: "A text with [MASK]", pair: null,
    run: async (t) => { const f = await call("POST", "/fill-mask", { inputs: t });
      return (Array.isArray(f[0]) ? f[0] : f).map((x) => ({ label: x.token_str, score: x.score })); } },
  "feature-extraction": { text: "Texts to compare, one a line (the first against the others)", pair: null,
    run: async (t) => { const lines = t.split("\n").filter((l) => l.trim());
      if (lines.length < 2) { const v = (await call("POST", "/embed", { inputs: lines[0] || t }))[0];
        return [{ label: v.length + " dimensions, first " + v.slice(0, 3).map((x) => x.toFixed(3)).join(" "), score: 1 }]; }
      const s = await call("POST", "/similarity", { inputs: { source_sentence: lines[0], sentences: lines.slice(1) } });
      return s.map((x, i) => ({ label: lines[i + 1], score: x })); } },
  "rerank": { text: "Query", pair: "Passages, one a line",
    run: async (t, p) => (await call("POST", "/rerank", { query: t, texts: p.split("\n").filter((l) => l.trim()), return_text: true }))
      .map((h) => ({ label: h.text, score: h.score })) },
};
function chooseTask() {
  const t = TASKS[$("task").value];
  if (!t) return;
  $("text").placeholder = t.text;
  $("pair").hidden = t.pair === null;
  if (t.pair !== null) $("pair").placeholder = t.pair;
}
async function loadInfo() {
  try {
    const info = await call("GET", "/info");
    const kind = info.model_type.classifier ? "classifier, " + Object.keys(info.model_type.classifier.id2label).length + " labels" : "embedding model";
    $("model").textContent = info.model_id + " (" + info.architecture + ", " + kind + ", " + info.model_dtype + ", max " + info.max_input_length + " tokens)";
    $("task").replaceChildren(...(info.tasks || ["text-classification"]).filter((t) => TASKS[t]).map((t) => { const o = el("option", "", t); o.value = t; return o; }));
    chooseTask();
    $("model").dataset.loaded = "1";
  } catch (e) {
    $("model").textContent = "model information unavailable: " + e.message;
  }
}
$("task").addEventListener("change", chooseTask);
function renderScores(preds) {
  const box = $("results");
  box.replaceChildren();
  for (const p of preds) {
    const row = el("div", "row");
    row.dataset.label = p.label;
    row.dataset.score = String(p.score);
    row.append(el("span", "label", p.label));
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    fill.style.width = (Math.max(0, Math.min(1, p.score)) * 100).toFixed(1) + "%";
    bar.append(fill);
    row.append(bar, el("span", "score", (p.score * 100).toFixed(1) + "%"));
    box.append(row);
  }
}
function renderTokens(tokens) {
  const box = $("tokens");
  box.replaceChildren();
  for (const t of tokens) {
    const s = el("span", t.special ? "token special" : "token", t.token);
    s.dataset.id = String(t.id);
    s.title = "id " + t.id + (t.start === null ? "" : ", bytes " + t.start + "-" + t.stop);
    box.append(s);
  }
}
$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("text").value, pair = $("pair").value;
  $("status").textContent = "";
  $("results").dataset.state = "busy";
  try {
    const task = TASKS[$("task").value] || TASKS["text-classification"];
    renderScores(await task.run(text, pair));
    const toks = await call("POST", "/tokenize", { inputs: text.split("\n")[0] });
    renderTokens(toks[0]);
    $("results").dataset.state = "done";
    if ($("model").dataset.loaded !== "1") loadInfo();   // the first load may have lacked the API key
  } catch (e) {
    $("results").replaceChildren();
    $("status").textContent = e.message;
    $("results").dataset.state = "error";
  }
});
loadInfo();
</script>
</body>
</html>
)HTML";
}

}  // namespace ernie::serve
