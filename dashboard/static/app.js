// tickbeam's live dashboard: one card per symbol with candlesticks of the
// monitor's first bar resolution, volume, VWAP, the configured indicators
// and alert markers, redrawn as events arrive from /events. No libraries.
"use strict";

const UP = "#26a69a", DOWN = "#ef5350", VWAP = "#f5a623", GRID = "#2a3140", DIM = "#8a93a3";
const LINE_COLORS = ["#42a5f5", "#ab47bc", "#ffee58", "#8d6e63", "#26c6da", "#d4e157"];
const symbols = new Map(); // symbol -> {bars: Map(start ms -> bar), ind: Map(name -> Map(start -> value)), alerts: [], card, canvas, title, list}
// What the page drew, for tests and curious users (window.tickbeam in the console).
window.tickbeam = { windows: 0, drawn: 0, markers: 0, symbols: 0, events: 0, stats: 0, synced: false };

function sym(name) {
  let s = symbols.get(name);
  if (s) return s;
  const card = document.createElement("section");
  card.className = "card";
  const title = document.createElement("h2");
  const canvas = document.createElement("canvas");
  const list = document.createElement("div");
  list.className = "alerts";
  card.append(title, canvas, list);
  const grid = document.getElementById("grid");
  document.getElementById("empty")?.remove();
  // Cards in symbol order.
  const after = [...grid.children].find(c => c.dataset.symbol > name);
  card.dataset.symbol = name;
  grid.insertBefore(card, after || null);
  s = { name, bars: new Map(), ind: new Map(), alerts: [], card, canvas, title, list, dirty: true };
  symbols.set(name, s);
  window.tickbeam.symbols = symbols.size;
  return s;
}

const ms = t => Date.parse(t);

function onBar(b) {
  const s = sym(b.symbol);
  const k = ms(b.window_start);
  const old = s.bars.get(k);
  if (old && old.pane_index > b.pane_index) return;
  if (!old) window.tickbeam.windows++;
  s.bars.set(k, b);
  s.resolution = ms(b.window_end) - k;
  s.dirty = true;
}

function onIndicator(v) {
  const s = sym(v.symbol);
  let m = s.ind.get(v.indicator);
  if (!m) s.ind.set(v.indicator, m = new Map());
  m.set(ms(v.window_start), v);
  s.dirty = true;
}

function onAlert(a) {
  const s = sym(a.symbol);
  s.alerts.push(a);
  if (s.alerts.length > 200) s.alerts.shift();
  s.dirty = true;
}

function fmt(n) {
  if (!isFinite(n)) return "–";
  const a = Math.abs(n);
  return a >= 1e6 ? (n / 1e6).toFixed(2) + "M" : a >= 1e4 ? (n / 1e3).toFixed(1) + "k" : a >= 100 ? n.toFixed(2) : n.toPrecision(4);
}

function onStats(st) {
  const el = document.getElementById("stats");
  const chips = [];
  const lag = Object.entries(st.watermark_lag_s || {});
  for (const [stage, v] of lag) chips.push([`watermark lag ${stage}`, v.toFixed(1) + " s", v > 60]);
  for (const [src, v] of Object.entries(st.freshness_s || {})) chips.push([`freshness ${src}`, v.toFixed(1) + " s", v > 60]);
  const c = st.counters || {};
  for (const k of Object.keys(c).sort()) chips.push([k, c[k].toLocaleString("en-US"), false]);
  for (const [stage, n] of Object.entries(st.dead_letters || {})) chips.push([`dead letters ${stage}`, n.toLocaleString("en-US"), n > 0]);
  el.replaceChildren(...chips.map(([k, v, warn]) => {
    const d = document.createElement("span");
    d.className = "chip" + (warn ? " warn" : "");
    d.append(k + " ");
    const b = document.createElement("b");
    b.textContent = v;
    d.append(b);
    return d;
  }));
}

// Indicators drawn on the price scale, and oscillators drawn below volume.
const overlay = name => /^(sma|ema|bb|vwap)/.test(name);

function draw(s) {
  const cv = s.canvas, dpr = window.devicePixelRatio || 1;
  const W = Math.max(1, Math.round(cv.clientWidth * dpr)), H = Math.max(1, Math.round(cv.clientHeight * dpr));
  if (cv.width !== W || cv.height !== H) { cv.width = W; cv.height = H; }
  const g = cv.getContext("2d");
  g.clearRect(0, 0, W, H);
  const keys = [...s.bars.keys()].sort((a, b) => a - b);
  const osc = [...s.ind.keys()].filter(n => !overlay(n));
  const axis = Math.round(56 * dpr), padTop = Math.round(18 * dpr);
  const plotW = W - axis;
  // At most as many candles as fit 7 px apart; few candles get wider slots.
  const shown = keys.slice(-Math.max(1, Math.floor(plotW / (7 * dpr))));
  const slot = Math.min(18 * dpr, plotW / shown.length);
  const priceH = Math.round(H * (osc.length ? 0.58 : 0.72)), volTop = priceH + Math.round(6 * dpr);
  const volH = Math.round(H * 0.16), oscTop = volTop + volH + Math.round(6 * dpr), oscH = H - oscTop - Math.round(14 * dpr);
  // Price range over the shown candles and overlays.
  let lo = Infinity, hi = -Infinity, vmax = 0;
  for (const k of shown) {
    const b = s.bars.get(k);
    lo = Math.min(lo, b.low); hi = Math.max(hi, b.high); vmax = Math.max(vmax, b.volume);
  }
  for (const [name, m] of s.ind) if (overlay(name)) for (const k of shown) {
    const v = m.get(k);
    if (!v) continue;
    for (const x of [v.value, v.upper, v.lower]) if (x != null && isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  }
  if (!(hi > lo)) { hi = lo + 1; lo -= 1; }
  const span = hi - lo;
  lo -= span * 0.05; hi += span * 0.05;
  const y = p => padTop + (hi - p) / (hi - lo) * (priceH - padTop);
  const x = i => i * slot + slot / 2;
  // Grid and price axis.
  g.font = `${Math.round(10 * dpr)}px system-ui, sans-serif`;
  g.fillStyle = DIM; g.strokeStyle = GRID; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const p = lo + (hi - lo) * i / 4, yy = Math.round(y(p)) + 0.5;
    g.beginPath(); g.moveTo(0, yy); g.lineTo(plotW, yy); g.stroke();
    g.fillText(fmt(p), plotW + 4 * dpr, yy + 3 * dpr);
  }
  // Volume.
  shown.forEach((k, i) => {
    const b = s.bars.get(k), h = vmax > 0 ? Math.max(1, Math.round(b.volume / vmax * volH)) : 0;
    g.fillStyle = b.close >= b.open ? "rgba(38,166,154,0.45)" : "rgba(239,83,80,0.45)";
    g.fillRect(Math.round(x(i) - slot * 0.35), volTop + volH - h, Math.max(1, Math.round(slot * 0.7)), h);
  });
  g.fillStyle = DIM; g.fillText("vol " + fmt(vmax), plotW + 4 * dpr, volTop + 10 * dpr);
  // Candles: wick, then body, on whole pixels so their colors are exact.
  let drawn = 0;
  shown.forEach((k, i) => {
    const b = s.bars.get(k), up = b.close >= b.open, cx = Math.round(x(i));
    g.fillStyle = up ? UP : DOWN;
    const top = Math.round(y(Math.max(b.open, b.close))), bot = Math.round(y(Math.min(b.open, b.close)));
    g.fillRect(cx, Math.round(y(b.high)), Math.max(1, Math.round(dpr)), Math.max(1, Math.round(y(b.low)) - Math.round(y(b.high))));
    const bw = Math.max(1, Math.round(slot * 0.7));
    g.fillRect(cx - Math.floor(bw / 2), top, bw, Math.max(Math.round(dpr), bot - top));
    drawn++;
  });
  // VWAP of each bar, then the overlay indicators, as lines.
  const line = (pts, color, width) => {
    g.strokeStyle = color; g.lineWidth = width * dpr; g.beginPath();
    let on = false;
    for (const [i, v] of pts) {
      if (v == null || !isFinite(v)) { on = false; continue; }
      if (on) g.lineTo(x(i), y(v)); else g.moveTo(x(i), y(v));
      on = true;
    }
    g.stroke();
  };
  line(shown.map((k, i) => [i, s.bars.get(k).vwap]), VWAP, 1.5);
  const legend = [["VWAP", VWAP]];
  let ci = 0;
  for (const [name, m] of [...s.ind].sort()) {
    if (!overlay(name)) continue;
    const color = LINE_COLORS[ci++ % LINE_COLORS.length];
    if (name.startsWith("bb")) {
      line(shown.map((k, i) => [i, m.get(k)?.upper]), color, 1);
      line(shown.map((k, i) => [i, m.get(k)?.lower]), color, 1);
    }
    line(shown.map((k, i) => [i, m.get(k)?.value]), color, 1);
    legend.push([name, color]);
  }
  // Oscillators share a pane, each scaled to its own range (RSI to 0..100).
  if (osc.length && oscH > 10) {
    g.strokeStyle = GRID; g.strokeRect(0.5, oscTop + 0.5, plotW - 1, oscH - 1);
    for (const name of osc.sort()) {
      const m = s.ind.get(name), color = LINE_COLORS[ci++ % LINE_COLORS.length];
      const vals = shown.map(k => m.get(k)?.value).filter(v => v != null && isFinite(v));
      let olo = Math.min(...vals), ohi = Math.max(...vals);
      if (name.startsWith("rsi")) { olo = 0; ohi = 100; }
      if (!(ohi > olo)) { ohi = olo + 1; }
      const oy = v => oscTop + (ohi - v) / (ohi - olo) * oscH;
      g.strokeStyle = color; g.lineWidth = dpr; g.beginPath();
      let on = false;
      shown.forEach((k, i) => {
        const v = m.get(k)?.value;
        if (v == null || !isFinite(v)) { on = false; return; }
        if (on) g.lineTo(x(i), oy(v)); else g.moveTo(x(i), oy(v));
        on = true;
      });
      g.stroke();
      legend.push([name, color]);
    }
  }
  // Alert markers: a triangle above the candle whose window holds the alert.
  let markers = 0;
  const first = shown[0], res = s.resolution || 60000;
  for (const a of s.alerts) {
    const t = ms(a.event_time), k = Math.floor(t / res) * res;
    const i = shown.indexOf(k);
    if (first === undefined || i < 0) continue;
    const b = s.bars.get(k), ax = x(i), ay = y(b.high) - 6 * dpr;
    g.fillStyle = a.severity === "CRITICAL" ? DOWN : VWAP;
    g.beginPath(); g.moveTo(ax, ay); g.lineTo(ax - 5 * dpr, ay - 9 * dpr); g.lineTo(ax + 5 * dpr, ay - 9 * dpr); g.closePath(); g.fill();
    markers++;
  }
  // Legend and time labels (UTC).
  let lx = 4 * dpr;
  for (const [name, color] of legend) {
    g.fillStyle = color; g.fillText(name, lx, 12 * dpr); lx += g.measureText(name).width + 10 * dpr;
  }
  g.fillStyle = DIM;
  const labels = Math.max(1, Math.ceil(70 * dpr / slot)); // a label every this many candles
  shown.forEach((k, i) => {
    if (i % labels) return;
    const d = new Date(k);
    const label = res >= 86400000 ? d.toISOString().slice(0, 10) : res >= 60000 ? d.toISOString().slice(11, 16) : d.toISOString().slice(11, 19);
    g.fillText(label, Math.max(0, x(i) - 14 * dpr), H - 2 * dpr);
  });
  // Title: last close and the move over the shown bars.
  const last = s.bars.get(keys[keys.length - 1]), open0 = s.bars.get(shown[0]).open;
  const chg = (last.close - open0) / open0 * 100;
  s.title.innerHTML = "";
  const small = document.createElement("small");
  small.textContent = `${last.resolution} · ${fmt(last.close)} · ${chg >= 0 ? "+" : ""}${chg.toFixed(2)}% · ${keys.length} bars`;
  small.style.color = chg >= 0 ? UP : DOWN;
  s.title.append(s.name, small);
  s.list.textContent = s.alerts.slice(-3).reverse().map(a => `${a.event_time.slice(11, 19)} ${a.rule}: ${a.message}`).join(" · ");
  s.drawn = drawn; s.markers = markers;
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    let drawn = 0, markers = 0;
    for (const s of symbols.values()) {
      if (s.dirty && s.bars.size) { draw(s); s.dirty = false; }
      drawn += s.drawn || 0; markers += s.markers || 0;
    }
    window.tickbeam.drawn = drawn;
    window.tickbeam.markers = markers;
  });
}

window.addEventListener("resize", () => { for (const s of symbols.values()) s.dirty = true; schedule(); });

function connect() {
  const status = document.getElementById("status");
  const es = new EventSource("events");
  es.onopen = () => { status.textContent = "live"; status.className = "live"; };
  es.onerror = () => { status.textContent = "reconnecting"; status.className = "down"; };
  es.addEventListener("synced", () => { window.tickbeam.synced = true; });
  es.onmessage = ev => {
    const e = JSON.parse(ev.data);
    window.tickbeam.events++;
    switch (e.type) {
      case "bar": onBar(e.bar); break;
      case "indicator": onIndicator(e.indicator); break;
      case "alert": onAlert(e.alert); break;
      case "stats": onStats(e.stats); window.tickbeam.stats++; return;
    }
    schedule();
  };
}
connect();
