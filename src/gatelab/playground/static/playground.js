// gatelab's gate playground: the GRU cell of the seed question, in float64, with every gate ablation.
// The arithmetic mirrors gatelab's cell (src/gatelab/cells/gru.py); tests compare it with gatelab.GRU to 1e-9.
"use strict";

const gatelab = (() => {
  const DATA = JSON.parse(document.getElementById("gatelab-data").textContent);
  const VARIANTS = DATA.variants;                       // name → {update, reset, carry, gate_inputs, candidate}
  const sigmoid = (a) => 1 / (1 + Math.exp(-a));
  const PHI = { tanh: Math.tanh, identity: (a) => a, relu: (a) => Math.max(0, a) };

  // ---- the cell: one step, in the seed's notation --------------------------------------------------------------
  // z = σ(W_z x + U_z h + b_z), r = σ(W_r x + U_r h + b_r), ĥ = φ(W_h x + U_h (r ⊙ h) + b_h) (reset "before") or
  // φ(W_h x + b_h + r ⊙ (U_h h + b_hh)) ("after"), h' = z ⊙ ĥ + (1 − z) ⊙ h — with the variant's changes.
  function affine(W, U, b, x, h, readsX, readsH, hScale) {
    const n = b.length, out = new Array(n);
    for (let i = 0; i < n; i++) {
      let a = b[i];
      if (readsX) for (let j = 0; j < x.length; j++) a += W[i][j] * x[j];
      if (readsH) for (let j = 0; j < h.length; j++) a += U[i][j] * h[j] * (hScale ? hScale[j] : 1);
      out[i] = a;
    }
    return out;
  }

  function step(p, x, h, variantName, reset) {
    const v = VARIANTS[variantName], n = h.length;
    const gx = v.gate_inputs.includes("x"), gh = v.gate_inputs.includes("h");
    const z = v.update === "gate" ? affine(p.W_z, p.U_z, p.b_z, x, h, gx, gh).map(sigmoid) : null;
    let r = null;
    if (v.reset === "gate") r = affine(p.W_r, p.U_r, p.b_r, x, h, gx, gh).map(sigmoid);
    else if (v.reset === "update") r = z;
    let a;
    if (v.reset === "zero") a = affine(p.W_h, p.U_h, p.b_h, x, h, true, false);
    else if (v.reset === "one") a = affine(p.W_h, p.U_h, p.b_h, x, h, true, true);
    else if (reset === "after") {
      const uh = affine(p.W_h, p.U_h, p.b_hh, x, h, false, true);
      a = affine(p.W_h, p.U_h, p.b_h, x, h, true, false).map((ai, i) => ai + r[i] * uh[i]);
    } else a = affine(p.W_h, p.U_h, p.b_h, x, h, true, true, r);
    const phi = PHI[v.candidate];
    const cand = a.map(phi);
    const next = new Array(n);
    for (let i = 0; i < n; i++) {
      if (z === null) next[i] = cand[i];
      else if (!v.carry) next[i] = z[i] * cand[i];
      else next[i] = (1 - z[i]) * h[i] + z[i] * cand[i];
    }
    return { h: next, z, r, cand };
  }

  // The whole sequence from h_0 = 0: every step's z, r, ĥ, h (arrays of T arrays of n numbers; null for a gate
  // the variant does not have).
  function simulate(p, xs, variantName, reset) {
    const n = p.b_h.length;
    let h = new Array(n).fill(0);
    const out = { z: [], r: [], cand: [], h: [] };
    for (const x of xs) {
      const s = step(p, x, h, variantName, reset);
      h = s.h;
      out.z.push(s.z); out.r.push(s.r); out.cand.push(s.cand); out.h.push(h);
    }
    return out;
  }

  // ‖uᵀ ∂h_T/∂h_t‖ for t = 1 … T: the product of step Jacobians (each by central differences, exact to ~1e-9 in
  // float64), u = (1, …, 1)/√n.
  function sensitivity(p, xs, variantName, reset) {
    const run = simulate(p, xs, variantName, reset), n = p.b_h.length, T = xs.length, eps = 1e-6;
    let u = new Array(n).fill(1 / Math.sqrt(n));
    const out = new Array(T);
    out[T - 1] = 1;
    for (let t = T - 1; t >= 1; t--) {                     // u ← uᵀ J_t with J_t = ∂h_t/∂h_{t−1}
      const prev = run.h[t - 1], next = new Array(n).fill(0);
      for (let k = 0; k < n; k++) {
        const up = prev.slice(), down = prev.slice();
        up[k] += eps; down[k] -= eps;
        const a = step(p, xs[t], up, variantName, reset).h, b = step(p, xs[t], down, variantName, reset).h;
        for (let j = 0; j < n; j++) next[k] += u[j] * (a[j] - b[j]) / (2 * eps);
      }
      u = next;
      out[t - 1] = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
    }
    return out;
  }

  // Simple exponential smoothing of the input-only candidate φ(W_h x + b_h) with the changing weights α_t = z_t:
  // s_t = (1 − z_t) s_{t−1} + z_t φ(W_h x_t + b_h). With r ≡ 0 it is the unit itself.
  function smoothing(p, xs, z, candidateName) {
    const n = p.b_h.length, phi = PHI[candidateName];
    let s = new Array(n).fill(0);
    return xs.map((x, t) => {
      const c = affine(p.W_h, p.U_h, p.b_h, x, s, true, false).map(phi);
      s = s.map((si, i) => (1 - z[t][i]) * si + z[t][i] * c[i]);
      return s;
    });
  }

  // The weight of the candidate of step s in h_T: z_s Π_{k>s} (1 − z_k), per unit.
  function smoothingWeights(z) {
    const T = z.length, n = z[0].length, w = [];
    let keep = new Array(n).fill(1);
    for (let t = T - 1; t >= 0; t--) {
      w[t] = z[t].map((zi, i) => zi * keep[i]);
      keep = keep.map((k, i) => k * (1 - z[t][i]));
    }
    return w;
  }

  // ---- inputs ------------------------------------------------------------------------------------------------
  function inputs(kind, T, seed) {
    let state = seed >>> 0 || 1;
    const rand = () => { state = (1103515245 * state + 12345) % 2147483648; return state / 2147483648; };
    const xs = [];
    for (let t = 0; t < T; t++) {
      let v = 0;
      if (kind === "step") v = t >= T / 4 ? 1 : 0;
      else if (kind === "pulse") v = t === Math.floor(T / 4) ? 1 : 0;
      else if (kind === "noise") v = 2 * rand() - 1;
      else if (kind === "bits") v = rand() < 0.5 ? 0 : 1;
      else if (kind === "sine") v = Math.sin((2 * Math.PI * t) / 16);
      xs.push([v]);
    }
    return xs;
  }

  return { DATA, VARIANTS, step, simulate, sensitivity, smoothing, smoothingWeights, inputs };
})();

// ---- the page ----------------------------------------------------------------------------------------------------
(() => {
  const D = gatelab.DATA;
  const GATES = ["z", "r", "h"];
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
  const T = 48;
  const state = {
    units: 2, unit: 0, variant: "gru", reset: "before", xs: gatelab.inputs("step", T, 1),
    params: null, replay: null,
  };

  function freshParams(n) {                              // the page's 4-unit start, cut to n units
    const p = D.start, out = {};
    for (const g of GATES) {
      out[`W_${g}`] = p[`W_${g}`].slice(0, n).map((row) => row.slice());
      out[`U_${g}`] = p[`U_${g}`].slice(0, n).map((row) => row.slice(0, n));
      out[`b_${g}`] = p[`b_${g}`].slice(0, n);
    }
    out.b_hh = p.b_hh.slice(0, n);
    return out;
  }

  const $ = (id) => document.getElementById(id);

  // ---- plots: plain SVG ------------------------------------------------------------------------------------------
  function plot(id, series, opts = {}) {
    const svg = $(id), W = 560, H = opts.height || 90, pad = 26;
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && Number.isFinite(v));
    const lo = opts.log ? Math.log10(Math.max(1e-12, Math.min(...all))) : (opts.min ?? Math.min(0, ...all));
    const hi = opts.log ? Math.log10(Math.max(...all, 1e-12)) : (opts.max ?? Math.max(1, ...all));
    const span = hi - lo || 1;
    const n = Math.max(...series.map((s) => s.values.length), 2);
    const X = (t) => pad + ((W - pad - 4) * t) / (n - 1);
    const Y = (v) => { const u = opts.log ? Math.log10(Math.max(v, 1e-12)) : v; return H - 14 - ((H - 22) * (u - lo)) / span; };
    let body = `<line x1="${pad}" y1="${Y(opts.log ? 10 ** lo : lo)}" x2="${W}" y2="${Y(opts.log ? 10 ** lo : lo)}" class="axis"/>`;
    body += `<text x="2" y="12" class="label">${opts.title}</text>`;
    body += `<text x="2" y="${H - 16}" class="tick">${opts.log ? "1e" + lo.toFixed(0) : lo.toFixed(1)}</text>`;
    body += `<text x="2" y="24" class="tick">${opts.log ? "1e" + hi.toFixed(0) : hi.toFixed(1)}</text>`;
    for (const s of series) {
      if (s.bars) {
        s.values.forEach((v, t) => { body += `<rect x="${X(t) - 2}" y="${Y(v)}" width="4" height="${Math.max(0, Y(opts.min ?? 0) - Y(v))}" fill="${s.colour}"/>`; });
        continue;
      }
      const pts = s.values.map((v, t) => (v === null ? null : `${X(t).toFixed(1)},${Y(v).toFixed(2)}`)).filter(Boolean).join(" ");
      body += `<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="${s.width || 1.6}"${s.dash ? ' stroke-dasharray="4 3"' : ""} data-series="${s.name}"/>`;
    }
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.innerHTML = body;
  }

  function column(rows, i) { return rows.map((r) => (r === null ? null : r[i])); }

  // ---- render ----------------------------------------------------------------------------------------------------
  function render() {
    const replay = state.replay;
    const p = replay ? replay.weights : state.params;
    const xs = replay ? replay.inputs : state.xs;
    const variant = replay ? replay.variant : state.variant;
    const reset = replay ? replay.reset : state.reset;
    const run = gatelab.simulate(p, xs, variant, reset);
    const shown = replay ? Math.min(4, p.b_h.length) : state.units;
    state.last = run;
    const units = [...Array(shown).keys()];
    plot("plot-x", xs[0].length === 1 ? [{ name: "x", values: xs.map((x) => x[0]), colour: "#333" }]
      : xs[0].map((_, j) => ({ name: `x${j}`, values: xs.map((x) => x[j]), colour: COLOURS[j % 4] })), { title: "x_t (input)", min: Math.min(0, ...xs.flat()), max: Math.max(1, ...xs.flat()) });
    const v = gatelab.VARIANTS[variant];
    for (const [key, label] of [["z", "z_t (update: share of the new candidate)"], ["r", "r_t (reset)"]]) {
      const rows = run[key];
      plot(`plot-${key}`, rows[0] === null ? [] : units.map((i) => ({ name: `${key}${i}`, values: column(rows, i), colour: COLOURS[i] })),
        { title: rows[0] === null ? `${label} — this variant has none` : label, min: 0, max: 1 });
    }
    plot("plot-cand", units.map((i) => ({ name: `cand${i}`, values: column(run.cand, i), colour: COLOURS[i] })), { title: "ĥ_t (candidate)", min: -1, max: 1 });
    const hSeries = units.map((i) => ({ name: `h${i}`, values: column(run.h, i), colour: COLOURS[i], width: 2 }));
    let smoothNote = "";
    if (run.z[0] !== null && v.carry) {
      const s = gatelab.smoothing(p, xs, run.z, v.candidate);
      units.forEach((i) => hSeries.push({ name: `ses${i}`, values: column(s, i), colour: COLOURS[i], dash: true, width: 1 }));
      const gap = Math.max(...run.h.flatMap((h, t) => h.slice(0, shown).map((hi, i) => Math.abs(hi - s[t][i]))));
      smoothNote = `dashed: exponential smoothing of φ(W_h x + b_h) with α_t = z_t; max |h − smoothing| = ${gap.toExponential(2)}` +
        (gap < 1e-12 ? " — they coincide: this unit is exponential smoothing with changing weights" : "");
      const w = gatelab.smoothingWeights(run.z);
      plot("plot-weights", units.map((i) => ({ name: `w${i}`, values: column(w, i), colour: COLOURS[i], bars: i === 0 })),
      { title: "weight of step s's candidate in h_T: z_s Π_{k>s}(1 − z_k)", min: 0, max: Math.max(0.05, ...w.flat()) });
    } else {
      plot("plot-weights", [], { title: "smoothing weights — no update gate with a carry path in this variant" });
    }
    plot("plot-h", hSeries, { title: "h_t (state)", min: -1, max: 1 });
    $("smooth-note").textContent = smoothNote;
    const sens = gatelab.sensitivity(p, xs, variant, reset);
    plot("plot-grad", [{ name: "sensitivity", values: sens, colour: "#444", width: 2 }],
      { title: "‖uᵀ ∂h_T/∂h_t‖ — how much of h_T's gradient reaches step t (log scale)", log: true });
    $("grad-note").textContent = `from the first step: ${sens[0].toExponential(2)} of the signal at the last step`;
    markEquations(v);
  }

  function markEquations(v) {
    document.querySelectorAll("[data-eq]").forEach((el) => el.classList.remove("off"));
    const off = (name) => document.querySelectorAll(`[data-eq="${name}"]`).forEach((el) => el.classList.add("off"));
    if (v.update !== "gate") { off("z"); off("carry"); }
    if (!v.carry) off("carry");
    if (v.reset === "one" || v.reset === "zero" || v.reset === "update") off("r");
    if (v.reset === "zero") off("Uh");
    if (!v.gate_inputs.includes("x")) off("Wgate");
    if (!v.gate_inputs.includes("h")) off("Ugate");
  }

  function light(name) {
    document.querySelectorAll(`[data-term="${name}"]`).forEach((el) => {
      el.classList.add("lit");
      clearTimeout(el._lit);
      el._lit = setTimeout(() => el.classList.remove("lit"), 900);
    });
  }

  // ---- controls ----------------------------------------------------------------------------------------------------
  function sliders() {
    const box = $("sliders"), n = state.units, i = state.unit, p = state.params;
    box.innerHTML = "";
    const add = (name, label, get, set) => {
      const id = `s-${name}`;
      const wrap = document.createElement("div");
      wrap.className = "slider";
      wrap.innerHTML = `<label for="${id}">${label}</label><input type="range" id="${id}" min="-6" max="6" step="0.1" value="${get()}" aria-label="${label}"><output for="${id}">${get().toFixed(1)}</output>`;
      const input = wrap.querySelector("input");
      input.addEventListener("input", () => { set(parseFloat(input.value)); wrap.querySelector("output").textContent = parseFloat(input.value).toFixed(1); light(name.split("-")[0]); render(); });
      box.appendChild(wrap);
    };
    for (const g of GATES) {
      add(`W_${g}-${i}`, `W_${g}[${i + 1}]`, () => p[`W_${g}`][i][0], (x) => { p[`W_${g}`][i][0] = x; });
      for (let j = 0; j < n; j++) add(`U_${g}-${i}-${j}`, `U_${g}[${i + 1},${j + 1}]`, () => p[`U_${g}`][i][j], (x) => { p[`U_${g}`][i][j] = x; });
      add(`b_${g}-${i}`, `b_${g}[${i + 1}]`, () => p[`b_${g}`][i], (x) => { p[`b_${g}`][i] = x; });
    }
    if (state.reset === "after") add(`b_hh-${i}`, `b_hh[${i + 1}]`, () => p.b_hh[i], (x) => { p.b_hh[i] = x; });
  }

  function setup() {
    state.params = freshParams(state.units);
    const variants = $("variants");
    for (const [name, label] of D.switches) {
      const id = `v-${name}`;
      variants.insertAdjacentHTML("beforeend", `<label><input type="radio" name="variant" id="${id}" value="${name}"${name === state.variant ? " checked" : ""}> ${label}</label>`);
    }
    variants.addEventListener("change", (e) => { state.variant = e.target.value; state.replay = null; render(); });
    $("reset").addEventListener("change", (e) => { state.reset = e.target.value; sliders(); render(); });
    $("units").addEventListener("change", (e) => { state.units = parseInt(e.target.value, 10); state.unit = 0; state.params = freshParams(state.units); fillUnitChoice(); sliders(); render(); });
    $("unit").addEventListener("change", (e) => { state.unit = parseInt(e.target.value, 10); sliders(); });
    $("input").addEventListener("change", (e) => { state.xs = gatelab.inputs(e.target.value, T, 7); render(); });
    $("plot-x").addEventListener("pointerdown", draw);
    $("plot-x").addEventListener("pointermove", (e) => { if (e.buttons) draw(e); });
    const study = $("study");
    if (D.replays.length) {
      D.replays.forEach((r, k) => study.insertAdjacentHTML("beforeend", `<option value="${k}">${r.label}</option>`));
      study.addEventListener("change", (e) => { state.replay = e.target.value === "" ? null : D.replays[parseInt(e.target.value, 10)]; $("replay-note").textContent = state.replay ? state.replay.note : ""; render(); });
    } else {
      $("study-box").hidden = true;
    }
    fillUnitChoice();
    sliders();
    render();
  }

  function fillUnitChoice() {
    $("unit").innerHTML = [...Array(state.units).keys()].map((i) => `<option value="${i}">unit ${i + 1}</option>`).join("");
  }

  function draw(e) {                                           // draw the input with the pointer on the x plot
    const svg = $("plot-x"), box = svg.getBoundingClientRect();
    const t = Math.round(((e.clientX - box.left) / box.width * 560 - 26) / (560 - 30) * (T - 1));
    const v = 1 - 2 * ((e.clientY - box.top) / box.height);
    if (t >= 0 && t < T && !state.replay) { state.xs[t] = [Math.max(-1, Math.min(1, v))]; render(); }
  }

  window.gatelabPage = { state, render };
  setup();
})();
