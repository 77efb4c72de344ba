// The manifold-xai explorer: every test image of a run with its attributions, their tangent and
// orthogonal parts and their numbers. Data: window.EXPLORER (data/index.js) and, as they come into
// view, sprite chunks (data/c/*.js) that call explorerChunk(key, [data URLs]). No network, no server.
(function () {
  "use strict";
  const X = window.EXPLORER;
  const $ = (id) => document.getElementById(id);
  if (!X) {
    document.body.insertAdjacentHTML("afterbegin",
      '<p role="alert" class="error">data/index.js could not be loaded: the explorer\'s data folder is missing; rebuild it.</p>');
    return;
  }
  const BATCH = 60;
  const KEYS = ["dataset", "seed", "regime", "method", "source", "cls", "correct", "sort", "vs", "image"];
  const state = { dataset: null, seed: "all", regime: null, method: null, source: null, cls: "all",
    correct: "all", sort: "index", vs: null, image: null };
  const LUT = X.colormap.map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
  const fmt = (v, d) => (v === null || v === undefined ? "undefined" : v.toFixed(d));
  let items = [], shown = 0, firstPending = null;
  const t0 = performance.now();

  // ---- state in the URL -------------------------------------------------------------------------
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    for (const k of KEYS) if (p.has(k)) state[k] = p.get(k);
  }
  function writeHash() {
    const p = new URLSearchParams();
    for (const k of KEYS) if (state[k] !== null) p.set(k, state[k]);
    history.replaceState(null, "", "#" + p.toString());
  }

  // ---- options of the filters ---------------------------------------------------------------------
  const runsOf = (ds) => X.runs.filter((r) => r.dataset === ds);
  const uniq = (xs) => [...new Set(xs)];
  function fill(select, values, labels, current) {
    select.innerHTML = "";
    values.forEach((v, k) => {
      const o = document.createElement("option");
      o.value = String(v); o.textContent = labels ? labels[k] : String(v);
      select.appendChild(o);
    });
    const pick = values.map(String).includes(current) ? current : (values.length ? String(values[0]) : null);
    select.value = pick === null ? "" : pick;
    return pick;
  }
  function refreshOptions() {
    state.dataset = fill($("f-dataset"), uniq(X.runs.map((r) => r.dataset)), null, state.dataset);
    const runs = runsOf(state.dataset);
    const seeds = ["all", ...runs.map((r) => r.seed)];
    state.seed = fill($("f-seed"), seeds, seeds.map((s) => (s === "all" ? "all seeds" : "seed " + s)), state.seed);
    const regimes = runs.flatMap((r) => r.regimes);
    state.regime = fill($("f-regime"), uniq(regimes.map((g) => g.name)), null, state.regime);
    const ofRegime = regimes.filter((g) => g.name === state.regime);
    const methods = uniq(ofRegime.flatMap((g) => g.methods));
    state.method = fill($("f-method"), methods, null, state.method);
    state.vs = fill($("f-vs"), methods, null, state.vs || methods[1] || methods[0]);
    state.source = fill($("f-source"), uniq(ofRegime.flatMap((g) => g.sources.map((s) => s.name))), null, state.source);
    const nc = Math.max(0, ...runs.map((r) => r.n_classes));
    const classes = ["all", ...Array.from({ length: nc }, (_, k) => k)];
    state.cls = fill($("f-cls"), classes, classes.map((c) => (c === "all" ? "all classes" : "class " + c)), state.cls);
    $("f-correct").value = state.correct = ["all", "correct", "incorrect"].includes(state.correct) ? state.correct : "all";
    $("f-sort").value = state.sort = ["index", "asc", "desc", "diff-asc", "diff-desc"].includes(state.sort) ? state.sort : "index";
    $("f-vs").disabled = !state.sort.startsWith("diff");
  }

  // ---- the selection ----------------------------------------------------------------------------
  function regimeOf(run) {
    const g = run.regimes.findIndex((x) => x.name === state.regime);
    return [g, g >= 0 ? run.regimes[g] : null];
  }
  function sourceOf(regime) {
    return regime ? regime.sources.find((s) => s.name === state.source) || null : null;
  }
  function selection() {
    const out = [];
    for (const run of runsOf(state.dataset)) {
      if (state.seed !== "all" && String(run.seed) !== state.seed) continue;
      const [g, regime] = regimeOf(run);
      const src = sourceOf(regime);
      const fr = src ? src.fraction[state.method] || null : null;
      const vs = src ? src.fraction[state.vs] || null : null;
      for (let i = 0; i < run.n; i++) {
        const label = run.labels[i];
        if (state.cls !== "all" && String(label) !== state.cls) continue;
        const pred = regime ? regime.predicted[i] : null;
        if (state.correct !== "all" && (pred === null || (pred === label) !== (state.correct === "correct"))) continue;
        const v = fr ? fr[i] : null;
        const key = state.sort.startsWith("diff") ? (v !== null && vs && vs[i] !== null ? v - vs[i] : null) : v;
        out.push({ run, g, i, v, key, random: src ? src.random[i] : null });
      }
    }
    if (state.sort !== "index") {
      const sign = state.sort.endsWith("asc") ? 1 : -1;
      out.sort((a, b) => (a.key === null) - (b.key === null) || (a.key === null ? 0 : sign * (a.key - b.key))
        || a.run.id - b.run.id || a.i - b.i);
    }
    return out;
  }
  const mean = (xs) => { const d = xs.filter((x) => x !== null); return d.length ? d.reduce((s, x) => s + x, 0) / d.length : null; };

  // ---- chunks and drawing -----------------------------------------------------------------------
  const chunks = new Map();
  window.explorerChunk = function (key, urls) { const c = chunks.get(key); if (c) c.arrived(urls); };
  function decode(url) {
    if (url === null) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const im = new Image();
      im.onload = () => {
        const cv = document.createElement("canvas");
        cv.width = im.width; cv.height = im.height;
        const cx = cv.getContext("2d", { willReadFrequently: true });
        cx.drawImage(im, 0, 0);
        resolve({ w: im.width, data: cx.getImageData(0, 0, im.width, im.height).data });
      };
      im.onerror = () => reject(new Error("a sprite sheet cannot be decoded"));
      im.src = url;
    });
  }
  function loadChunk(key) {
    let c = chunks.get(key);
    if (c) return c.promise;
    c = {};
    c.promise = new Promise((resolve, reject) => {
      c.arrived = (urls) => Promise.all(urls.map(decode)).then(resolve, reject);
      const s = document.createElement("script");
      s.src = "data/c/" + key + ".js";
      s.onerror = () => reject(new Error("chunk " + key + " is missing"));
      document.head.appendChild(s);
    });
    chunks.set(key, c);
    return c.promise;
  }
  function draw(canvas, sheet, t, h, w, kind, other) {
    const x0 = (t % X.columns) * w, y0 = Math.floor(t / X.columns) * h;
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h), d = sheet.data;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const s = ((y0 + y) * sheet.w + x0 + x) * 4, o = (y * w + x) * 4;
      let rgb;
      if (kind === "image") rgb = [d[s], d[s + 1], d[s + 2]];
      else {
        let q = d[s] >> 2;
        if (kind === "orthogonal") q = Math.max(0, Math.min(X.levels - 1, Math.round(q - (other.data[s] >> 2) + (X.levels - 1) / 2)));
        rgb = LUT[q];
      }
      img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  // Draws the image and one method's three maps of item ``it`` into canvases {image, attribution,
  // tangent, orthogonal} (any may be absent); resolves when done.
  async function drawItem(it, method, sourceName, canvases) {
    const { run, g, i } = it, page = Math.floor(i / X.page_size), t = i % X.page_size;
    const [, h, w] = run.shape;
    const jobs = [];
    if (canvases.image) jobs.push(loadChunk(`r${run.id}i${page}`).then(([im]) => draw(canvases.image, im, t, h, w, "image")));
    const regime = g >= 0 ? run.regimes[g] : null;
    const m = regime ? regime.methods.indexOf(method) : -1;
    if (m >= 0 && canvases.attribution) {
      const k = regime.sources.findIndex((s) => s.name === sourceName);
      jobs.push(loadChunk(`r${run.id}g${g}m${m}p${page}`).then((sheets) => {
        draw(canvases.attribution, sheets[0], t, h, w, "map");
        const tangent = k >= 0 ? sheets[1 + k] : null;
        if (tangent) {
          draw(canvases.tangent, tangent, t, h, w, "map");
          draw(canvases.orthogonal, sheets[0], t, h, w, "orthogonal", tangent);
        } else {
          for (const c of [canvases.tangent, canvases.orthogonal]) c.setAttribute("aria-label", "not available: " + (k >= 0 ? regime.sources[k].note : "no such tangent source"));
        }
      }));
    }
    await Promise.all(jobs);
  }

  // ---- the gallery ------------------------------------------------------------------------------
  function predictions(run, i) {
    return run.regimes.map((r) => `${r.name} ${r.predicted[i]}${r.predicted[i] === run.labels[i] ? " ✓" : " ✗"}`).join(" · ");
  }
  function canvas(label) {
    const c = document.createElement("canvas");
    c.width = 1; c.height = 1; c.setAttribute("role", "img"); c.setAttribute("aria-label", label);
    return c;
  }
  function itemKey(it) { return `${it.run.dataset}/${it.run.seed}/${it.i}`; }
  function card(it, index) {
    const { run, g, i } = it, regime = g >= 0 ? run.regimes[g] : null;
    const el = document.createElement("div");
    el.className = "card"; el.tabIndex = 0; el.setAttribute("role", "listitem");
    el.dataset.key = itemKey(it); el.dataset.index = String(index);
    const numbers = `fraction ${fmt(it.v, 3)} · random ${fmt(it.random, 3)}`;
    el.setAttribute("aria-label", `${run.dataset} seed ${run.seed}, test image ${i}, label ${run.labels[i]}; ${state.method}: ${numbers}`);
    const maps = document.createElement("div");
    maps.className = "maps";
    const c = {
      image: canvas(`test image ${i}, label ${run.labels[i]}`),
      attribution: canvas(`${state.method} attribution, fraction ${fmt(it.v, 3)} in the tangent space`),
      tangent: canvas(`${state.method}, part in the tangent space`),
      orthogonal: canvas(`${state.method}, part orthogonal to the tangent space`),
    };
    Object.values(c).forEach((x) => maps.appendChild(x));
    el.appendChild(maps);
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.innerHTML = `<b>label ${run.labels[i]}</b> · seed ${run.seed} · #${i}<br>${predictions(run, i)}<br>`
      + (regime ? `<span class="fraction">${numbers}</span>` : `<span class="na">${state.regime}: not available</span>`)
      + (regime ? ` · ±${fmt(regime.scale[state.method] ? regime.scale[state.method][i] : null, 3)}` : "");
    el.appendChild(meta);
    el._item = it; el._canvases = c;
    return el;
  }
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting || e.target.dataset.drawn) continue;
      const el = e.target;
      el.dataset.drawn = "pending";
      observer.unobserve(el);
      drawItem(el._item, state.method, state.source, el._canvases).catch((err) => {
        el.querySelector(".meta").insertAdjacentHTML("beforeend", `<br><span class="na">${err.message}</span>`);
      }).finally(() => {
        el.dataset.drawn = "1";
        if (firstPending) { firstPending.delete(el); if (!firstPending.size) firstScreen(); }
      });
    }
  });
  function firstScreen() {
    firstPending = null;
    if (window.explorerFirstScreenMs === undefined) window.explorerFirstScreenMs = performance.now();
    document.body.dataset.ready = "1";
  }
  function renderMore() {
    const gallery = $("gallery"), stop = Math.min(items.length, shown + BATCH);
    for (let k = shown; k < stop; k++) { const el = card(items[k], k); gallery.appendChild(el); observer.observe(el); }
    shown = stop;
  }
  new IntersectionObserver((e) => { if (e[0].isIntersecting && shown < items.length) renderMore(); }).observe($("more"));

  function render() {
    refreshOptions();
    items = selection();
    shown = 0;
    $("gallery").innerHTML = "";
    const m = mean(items.map((x) => x.v));
    $("count").textContent = String(items.length);
    $("mean").textContent = fmt(m, 4);
    const r = mean(items.map((x) => x.random));
    $("random").textContent = `(${state.method}, ${state.regime}, ${state.source}; random vectors ${fmt(r, 4)})`;
    renderMore();
    if (window.explorerFirstScreenMs === undefined) {
      firstPending = new Set([...$("gallery").children].filter((el) => el.getBoundingClientRect().top < innerHeight));
      if (!firstPending.size) firstScreen();
    }
    writeHash();
  }

  // ---- the detail view --------------------------------------------------------------------------
  function findItem(key) {
    const [ds, seed, i] = (key || "").split("/");
    const run = X.runs.find((r) => r.dataset === ds && String(r.seed) === seed);
    if (!run || !(Number(i) >= 0 && Number(i) < run.n)) return null;
    const [g] = regimeOf(run);
    return { run, g, i: Number(i) };
  }
  function openDetail(key) {
    const it = findItem(key);
    if (!it) { state.image = null; writeHash(); return; }
    state.image = key; writeHash();
    const { run, i } = it;
    $("detail").hidden = false;
    $("detail-title").textContent = `${run.dataset} · seed ${run.seed} · test image ${i} (row ${run.sample_index[i]} of the dataset store) · label ${run.labels[i]}`;
    $("d-link").href = location.href;
    const body = $("detail-body");
    body.innerHTML = "";
    const im = canvas(`test image ${i}, label ${run.labels[i]}`);
    body.appendChild(im);
    drawItem({ run, g: -1, i }, null, null, { image: im });
    const sources = uniq(run.regimes.flatMap((g) => g.sources.map((s) => s.name)));
    const table = document.createElement("table");
    table.innerHTML = "<tr><th>regime</th><th>prediction</th><th>method</th><th>scale ±</th>"
      + sources.map((s) => `<th>fraction (${s})</th><th>random (${s})</th>`).join("") + "<th>maps under " + state.source + ": attribution · tangent · orthogonal</th></tr>";
    run.regimes.forEach((regime, g) => {
      regime.methods.forEach((method) => {
        const tr = document.createElement("tr");
        const cells = sources.map((s) => {
          const src = regime.sources.find((x) => x.name === s);
          return src ? `<td class="f" data-regime="${regime.name}" data-method="${method}" data-source="${s}">${fmt(src.fraction[method] ? src.fraction[method][i] : null, 3)}</td><td>${fmt(src.random[i], 3)}</td>` : "<td>–</td><td>–</td>";
        }).join("");
        tr.innerHTML = `<td>${regime.name}</td><td>${regime.predicted[i]}${regime.predicted[i] === run.labels[i] ? " ✓" : " ✗"}</td><td>${method}</td><td>${fmt(regime.scale[method][i], 3)}</td>${cells}<td class="maps"></td>`;
        const src = regime.sources.find((x) => x.name === state.source);
        const f = src && src.fraction[method] ? src.fraction[method][i] : null;
        const c = {
          attribution: canvas(`${regime.name} ${method} attribution, fraction ${fmt(f, 3)} in the tangent space, scale ±${fmt(regime.scale[method][i], 3)}`),
          tangent: canvas(`${regime.name} ${method}, part in the tangent space`),
          orthogonal: canvas(`${regime.name} ${method}, part orthogonal to the tangent space`),
        };
        const td = tr.querySelector(".maps");
        for (const [name, el] of Object.entries(c)) {
          const fig = document.createElement("figure");
          fig.appendChild(el);
          fig.insertAdjacentHTML("beforeend", `<figcaption>${name}</figcaption>`);
          td.appendChild(fig);
        }
        drawItem({ run, g, i }, method, state.source, c);
        table.appendChild(tr);
      });
    });
    body.appendChild(table);
    const arts = document.createElement("div");
    arts.className = "artifacts";
    arts.innerHTML = "<h3>Artifacts these numbers and maps come from</h3><ul>" + run.artifacts.map(
      (a) => `<li>${a.role}: <code>${a.path}</code> sha256 <code>${a.sha256}</code></li>`).join("") + "</ul>";
    body.appendChild(arts);
    $("d-close").focus();
  }
  function closeDetail() {
    const key = state.image;
    $("detail").hidden = true; state.image = null; writeHash();
    const el = [...$("gallery").children].find((c) => c.dataset.key === key);
    if (el) el.focus();
  }
  function step(delta) {
    const k = items.findIndex((x) => itemKey(x) === state.image);
    const next = items[k + delta];
    if (next) openDetail(itemKey(next));
  }

  // ---- events -----------------------------------------------------------------------------------
  for (const k of ["dataset", "seed", "regime", "method", "source", "cls", "correct", "sort", "vs"]) {
    $("f-" + k).addEventListener("change", (e) => { state[k] = e.target.value; render(); });
  }
  $("gallery").addEventListener("click", (e) => { const el = e.target.closest(".card"); if (el) openDetail(el.dataset.key); });
  $("gallery").addEventListener("keydown", (e) => {
    const el = e.target.closest(".card");
    if (!el) return;
    const k = Number(el.dataset.index);
    const perRow = Math.max(1, Math.round($("gallery").clientWidth / el.offsetWidth));
    const to = { ArrowRight: k + 1, ArrowLeft: k - 1, ArrowDown: k + perRow, ArrowUp: k - perRow, Home: 0 }[e.key];
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openDetail(el.dataset.key); return; }
    if (to === undefined || to < 0 || to >= items.length) return;
    e.preventDefault();
    while (to >= shown) renderMore();
    const target = $("gallery").children[to];
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  });
  $("d-close").addEventListener("click", closeDetail);
  $("d-prev").addEventListener("click", () => step(-1));
  $("d-next").addEventListener("click", () => step(1));
  document.addEventListener("keydown", (e) => {
    if ($("detail").hidden) return;
    if (e.key === "Escape") closeDetail();
    else if (e.key === "ArrowRight") step(1);
    else if (e.key === "ArrowLeft") step(-1);
  });

  // ---- start ------------------------------------------------------------------------------------
  if (X.missing.length) {
    const box = $("missing");
    box.hidden = false;
    box.innerHTML = `<b>${X.missing.length} store(s) missing or unreadable; the rest is shown:</b><ul>`
      + X.missing.map((m) => `<li>${m.what}: <code>${m.path}</code>: ${m.why}</li>`).join("") + "</ul>";
  }
  const bar = $("legend-bar").getContext("2d");
  LUT.forEach((rgb, q) => { bar.fillStyle = `rgb(${rgb})`; bar.fillRect(q * 4, 0, 4, 12); });
  $("legend-text").textContent = `${X.colormap_name}: purple negative, white 0, orange positive; each map from −s to +s, s its attribution's largest |value| (shown as ±s), which its tangent and orthogonal parts share; ${X.levels} levels (the numbers come from the stores)`;
  readHash();
  if (!X.runs.length) $("summary").textContent = "No run could be shown (see above).";
  else { render(); if (state.image) openDetail(state.image); }
})();
