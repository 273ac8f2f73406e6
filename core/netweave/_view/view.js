// netweave view: hovering, causal selection, filters and the slider over the SVG the
// page was generated with. Data: the trace's lines and what was computed from them (see
// netweave/view.py). Nothing here is redrawn on hover; filters lay the picture out again
// by moving the existing elements; the slider changes only the events it passes.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const G = D.geom;
  const N = D.lines.length;
  const A = D.arrows;
  const LIFECYCLE = new Set(["start", "stop", "crash", "suspect", "restore", "fault"]);
  const chart = document.getElementById("chart");
  const head = document.getElementById("head");
  const scroller = document.getElementById("scroll");
  const tip = document.getElementById("tip");
  const slider = document.getElementById("slider");
  const nowText = document.getElementById("now");
  const cursor = document.getElementById("cursor");
  const selBox = document.getElementById("sel");
  const axis = document.getElementById("axis");
  const dead = document.getElementById("dead");
  const lanesG = document.getElementById("lanes");

  const evEl = new Array(N);
  chart.querySelectorAll("g.e").forEach(function (g) { evEl[+g.dataset.i] = g; });
  const arEl = new Array(A.length);
  const alEl = new Array(A.length);
  chart.querySelectorAll("[data-a]").forEach(function (el) {
    const j = +el.dataset.a;
    if (el.classList.contains("al")) alEl[j] = el; else arEl[j] = el;
  });
  const touch = new Array(N);
  for (let i = 0; i < N; i++) touch[i] = [];
  A.forEach(function (a, j) {
    if (a[0] >= 0) touch[a[0]].push(j);
    if (a[1] >= 0) touch[a[1]].push(j);
  });
  // Properties each line breaks, for the tooltip.
  const broken = new Map();
  (D.check.results || []).forEach(function (r) {
    r.examples.forEach(function (ex) {
      ex.lines.forEach(function (i) {
        if (!broken.has(i)) broken.set(i, []);
        broken.get(i).push(r.layer + " " + r.property + ": " + ex.message);
      });
    });
  });

  // -- state ---------------------------------------------------------------------------
  const nodeOn = D.nodes.map(function () { return true; });
  const layerIndex = new Map(D.layers.map(function (l, k) { return [l, k]; }));
  const layerOn = D.layers.map(function () { return true; });
  const kindOn = D.kinds.map(function () { return true; });
  let ids = null;            // a Set of message ids, or null: every message
  const visible = new Uint8Array(N);
  const arVisible = new Uint8Array(A.length);
  const px = new Float64Array(N);
  const py = new Float64Array(N);
  let laneX = [];
  let pos = N - 1;           // the slider: lines after it are dimmed
  let selected = -1;
  let marked = [];           // elements given selection classes
  let current = null;        // the event at the slider's position

  function fmt(t) { return t.toFixed(D.places); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[c];
    });
  }
  function n1(x) { return Math.round(x * 10) / 10; }

  function passes(i) {
    if (!nodeOn[D.node[i]]) return false;
    const r = D.lines[i];
    const ev = r.ev;
    if (ev === "send" || ev === "recv") {
      if (D.kind[i] >= 0 && !kindOn[D.kind[i]]) return false;
    } else if (r.layer != null && layerIndex.has(String(r.layer))
               && !layerOn[layerIndex.get(String(r.layer))]) {
      return false;
    }
    if (ids !== null && !LIFECYCLE.has(ev)) {
      return ids.has(String(r.id)) || ids.has(String(r.mid));
    }
    return true;
  }

  // -- layout: lanes of the nodes shown, one row per instant of the lines shown ----------
  function layout() {
    laneX = D.nodes.map(function () { return -1; });
    let k = 0;
    D.nodes.forEach(function (_, n) {
      if (nodeOn[n]) { laneX[n] = G.left + G.lane * k + G.lane / 2; k++; }
    });
    const width = Math.max(G.left + G.lane * k, 200);
    let rows = 0;
    let rowT = null;
    let taken = new Set();
    const rowTimes = [];
    const down = new Map();
    let deadSvg = "";
    for (let i = 0; i < N; i++) {
      visible[i] = passes(i) ? 1 : 0;
      const el = evEl[i];
      if (!visible[i]) { el.style.display = "none"; continue; }
      const n = D.node[i];
      const t = D.t[i];
      if (rowT === null || t !== rowT || taken.has(n)) {
        rowT = t; taken = new Set(); rowTimes.push(t); rows++;
      }
      taken.add(n);
      const x = laneX[n];
      const y = G.pad + G.row * (rows - 1) + G.row / 2;
      px[i] = x; py[i] = y;
      el.style.display = "";
      el.setAttribute("transform", "translate(" + n1(x) + "," + n1(y) + ")");
      const ev = D.lines[i].ev;
      if (ev === "crash" && !down.has(n)) down.set(n, y);
      else if (ev === "start" && down.has(n)) {
        deadSvg += deadLine(x, down.get(n), y); down.delete(n);
      }
    }
    const height = Math.round(G.pad * 2 + G.row * rows);
    down.forEach(function (y, n) { deadSvg += deadLine(laneX[n], y, height); });
    dead.innerHTML = deadSvg;
    let lanes = "";
    let names = "";
    D.nodes.forEach(function (name, n) {
      if (laneX[n] < 0) return;
      lanes += "<line class=\"lane\" x1=\"" + laneX[n] + "\" y1=\"0\" x2=\"" + laneX[n]
        + "\" y2=\"" + height + "\"/>";
      const shown = name.length <= 20 ? name : name.slice(0, 19) + "~";
      names += "<text class=\"ln\" x=\"" + laneX[n] + "\" y=\"20\">" + esc(shown)
        + "<title>" + esc(name) + "</title></text>";
    });
    lanesG.innerHTML = lanes;
    head.innerHTML = names;
    let ax = "";
    let shownT = null;
    rowTimes.forEach(function (t, row) {
      if (t !== shownT) {
        ax += "<text x=\"" + (G.left - 8) + "\" y=\"" + n1(G.pad + G.row * row + G.row / 2 + 4)
          + "\">" + fmt(t) + "</text>";
        shownT = t;
      }
    });
    axis.innerHTML = ax;
    for (let j = 0; j < A.length; j++) placeArrow(j);
    chart.setAttribute("width", width);
    chart.setAttribute("height", height);
    head.setAttribute("width", width);
    applySlider(0, N - 1);
    if (selected >= 0 && !visible[selected]) select(-1); else if (selected >= 0) select(selected);
  }

  function deadLine(x, y1, y2) {
    return "<line class=\"dead\" x1=\"" + x + "\" y1=\"" + n1(y1) + "\" x2=\"" + x
      + "\" y2=\"" + n1(y2) + "\"/>";
  }

  function placeArrow(j) {
    const a = A[j];
    const s = a[0];
    const r = a[1];
    const peer = a[3];
    const line = arEl[j];
    const text = alEl[j];
    let show = (s < 0 || visible[s]) && (r < 0 || visible[r]);
    if ((s < 0 || r < 0) && peer >= 0 && !nodeOn[peer]) show = false;
    arVisible[j] = show ? 1 : 0;
    line.style.display = show ? "" : "none";
    text.style.display = show ? "" : "none";
    if (!show) return;
    let lx, ly;
    if (s >= 0 && r >= 0) {
      line.setAttribute("x1", n1(px[s])); line.setAttribute("y1", n1(py[s]));
      line.setAttribute("x2", n1(px[r])); line.setAttribute("y2", n1(py[r]));
      lx = (px[s] + px[r]) / 2; ly = (py[s] + py[r]) / 2 - 3;
    } else if (s >= 0) {
      const x1 = px[s];
      const y1 = py[s];
      const x2 = peer >= 0 ? laneX[peer] : x1 + 30;
      const y2 = y1 + G.row;
      line.setAttribute("d", "M" + n1(x1) + "," + n1(y1) + "L" + n1(x2) + "," + n1(y2)
        + "M" + n1(x2 - 4) + "," + n1(y2 - 4) + "L" + n1(x2 + 4) + "," + n1(y2 + 4)
        + "M" + n1(x2 - 4) + "," + n1(y2 + 4) + "L" + n1(x2 + 4) + "," + n1(y2 - 4));
      lx = (x1 + x2) / 2; ly = (y1 + y2) / 2 - 3;
    } else {
      const x2 = px[r];
      const y2 = py[r];
      const x1 = x2 + (peer >= 0 && laneX[peer] > x2 ? 24 : -24);
      const y1 = y2 - G.row / 2;
      line.setAttribute("x1", n1(x1)); line.setAttribute("y1", n1(y1));
      line.setAttribute("x2", n1(x2)); line.setAttribute("y2", n1(y2));
      lx = x1; ly = y1 - 3;
    }
    text.setAttribute("x", n1(lx));
    text.setAttribute("y", n1(ly));
  }

  // -- the slider: lines after `pos` dimmed, messages sent but not yet received dashed ---
  function arrowState(j) {
    const s = A[j][0];
    const r = A[j][1];
    if (r >= 0 && r <= pos) return "";
    if (s >= 0 && s <= pos) return r >= 0 ? "flight" : "";
    return "later";
  }

  function applySlider(from, to) {
    const touched = new Set();
    for (let i = Math.max(from, 0); i <= Math.min(to, N - 1); i++) {
      evEl[i].classList.toggle("later", i > pos);
      touch[i].forEach(function (j) { touched.add(j); });
    }
    touched.forEach(function (j) {
      const state = arrowState(j);
      arEl[j].classList.toggle("later", state === "later");
      arEl[j].classList.toggle("flight", state === "flight");
      alEl[j].classList.toggle("later", state === "later");
    });
    if (current !== null) current.classList.remove("cur");
    current = null;
    if (pos >= 0 && pos < N - 1 && visible[pos]) {
      current = evEl[pos];
      current.classList.add("cur");
      cursor.setAttribute("x1", 0);
      cursor.setAttribute("x2", chart.getAttribute("width"));
      cursor.setAttribute("y1", n1(py[pos])); cursor.setAttribute("y2", n1(py[pos]));
    } else {
      cursor.setAttribute("y1", -10); cursor.setAttribute("y2", -10);
    }
    nowText.textContent = N ? "#" + pos + "  t=" + fmt(D.t[pos]) + "  " + D.lines[pos].node
      + "  " + describe(pos) : "";
  }

  function setPos(p, reveal) {
    p = Math.max(0, Math.min(N - 1, p));
    const old = pos;
    pos = p;
    slider.value = String(p);
    applySlider(Math.min(old, p), Math.max(old, p));
    if (reveal && visible[p]) reveal_(p);
  }

  function step(dir) {
    for (let i = pos + dir; i >= 0 && i < N; i += dir) {
      if (visible[i]) { setPos(i, true); return true; }
    }
    return false;
  }

  function reveal_(i) {
    const box = scroller.getBoundingClientRect();
    const r = evEl[i].getBoundingClientRect();
    const top = box.top + 40;
    if (r.top < top || r.bottom > box.bottom || r.left < box.left || r.right > box.right) {
      scroller.scrollTop += r.top - box.top - scroller.clientHeight / 2;
      scroller.scrollLeft += r.left - box.left - scroller.clientWidth / 2;
    }
  }

  let timer = null;
  function play(on) {
    const button = document.getElementById("play");
    if (timer !== null) { clearInterval(timer); timer = null; }
    button.innerHTML = on ? "&#x23F8;" : "&#x25B6;";
    if (!on) return;
    if (pos >= N - 1) setPos(0, true);
    timer = setInterval(function () { if (!step(1)) play(false); }, 150);
  }

  // -- selection: happened-before from the vector clocks ---------------------------------
  function select(i) {
    marked.forEach(function (el) { el.classList.remove("past", "future", "sel"); });
    marked = [];
    selected = i;
    if (i < 0) {
      chart.classList.remove("focus");
      selBox.innerHTML = "<h2>Selection</h2><p class=\"muted\">Click an event to see its causal "
        + "past (blue) and future (orange); click the background or press Esc to clear.</p>";
      return;
    }
    const ci = D.clock[i];
    const ni = D.node[i];
    const own = ci[ni];
    const state = new Int8Array(N);   // 1 past, 2 future
    let past = 0;
    let future = 0;
    for (let j = 0; j < N; j++) {
      if (j === i) continue;
      const cj = D.clock[j];
      const nj = D.node[j];
      if (ci[nj] >= cj[nj]) { state[j] = 1; past++; } else if (cj[ni] >= own) { state[j] = 2; future++; }
      if (state[j] && visible[j]) {
        const el = evEl[j];
        el.classList.add(state[j] === 1 ? "past" : "future");
        marked.push(el);
      }
    }
    evEl[i].classList.add("sel");
    marked.push(evEl[i]);
    for (let j = 0; j < A.length; j++) {
      if (!arVisible[j]) continue;
      const s = A[j][0];
      const r = A[j][1];
      let cls = null;
      if (r >= 0 && (r === i || state[r] === 1)) cls = "past";
      else if (s >= 0 && (s === i || state[s] === 2)) cls = "future";
      if (cls) {
        arEl[j].classList.add(cls); alEl[j].classList.add(cls);
        marked.push(arEl[j], alEl[j]);
      }
    }
    chart.classList.add("focus");
    const r = D.lines[i];
    let h = "<h2>Selection</h2><p><b class=\"mono\">#" + i + " " + esc(r.node) + " "
      + esc(r.ev) + "</b> at t=" + fmt(D.t[i]) + " s</p>"
      + "<p>causal past: " + past + " events; causal future: " + future + " events"
      + " (of " + (N - 1) + ")</p>" + "<p class=\"mono\">vector clock " + esc(clockText(i)) + "</p>";
    (broken.get(i) || []).forEach(function (text) {
      h += "<p class=\"bad\">&#x26A0; " + esc(text) + "</p>";
    });
    h += "<pre>" + esc(JSON.stringify(r)) + "</pre>";
    selBox.innerHTML = h;
  }

  function clockText(i) {
    const parts = [];
    D.clock[i].forEach(function (c, k) { if (c) parts.push(D.nodes[k] + ":" + c); });
    return "{" + parts.join(", ") + "}";
  }

  // -- hover ---------------------------------------------------------------------------
  function describe(i) {
    const r = D.lines[i];
    if (r.ev === "send") return "send " + (r.msg || "") + " to " + r.to + (r.id ? " about " + r.id : "");
    if (r.ev === "recv") return "recv " + (r.msg || "") + " from " + r.from + (r.id ? " about " + r.id : "");
    return D.label[i] || r.ev;
  }

  function eventTip(i) {
    const r = D.lines[i];
    let h = "<b>#" + i + " " + esc(r.node) + " " + esc(r.ev) + "</b> &middot; t=" + fmt(D.t[i]) + " s<br>";
    const fields = [];
    Object.keys(r).forEach(function (k) {
      if (k === "t" || k === "node" || k === "ev") return;
      const v = r[k];
      fields.push(esc(k) + " <b>" + esc(typeof v === "string" ? v : JSON.stringify(v)) + "</b>");
    });
    if (fields.length) h += fields.join(" &middot; ") + "<br>";
    if (r.ev === "send" || r.ev === "recv") {
      touch[i].forEach(function (j) {
        const a = A[j];
        if (a[0] >= 0 && a[1] >= 0) {
          const other = r.ev === "send" ? a[1] : a[0];
          h += (r.ev === "send" ? "received at " : "sent at ") + fmt(D.t[other]) + " s by "
            + esc(D.lines[other].node) + " (latency " + (D.t[a[1]] - D.t[a[0]]).toFixed(6) + " s)<br>";
        } else if (a[1] < 0) {
          h += "never received in this trace<br>";
        } else {
          h += "its send is not in this trace<br>";
        }
      });
    }
    h += "vector clock " + esc(clockText(i));
    (broken.get(i) || []).forEach(function (text) {
      h += "<div class=\"v\">&#x26A0; " + esc(text) + "</div>";
    });
    return h;
  }

  function arrowTip(j) {
    const a = A[j];
    const end = a[0] >= 0 ? a[0] : a[1];
    const r = D.lines[end];
    let h = "<b>" + esc(D.kinds[a[2]]) + "</b>";
    if (r.mid != null) h += " &middot; mid " + esc(r.mid);
    if (r.id != null) h += " &middot; about " + esc(r.id);
    h += "<br>";
    if (a[0] >= 0 && a[1] >= 0) {
      h += esc(D.lines[a[0]].node) + " &rarr; " + esc(D.lines[a[1]].node) + ": sent " + fmt(D.t[a[0]])
        + " s, received " + fmt(D.t[a[1]]) + " s (latency " + (D.t[a[1]] - D.t[a[0]]).toFixed(6) + " s)";
    } else if (a[0] >= 0) {
      h += esc(r.node) + " &rarr; " + esc(r.to) + ": sent " + fmt(D.t[a[0]]) + " s, never received in this trace";
    } else {
      h += esc(r.from) + " &rarr; " + esc(r.node) + ": received " + fmt(D.t[a[1]]) + " s, its send is not in this trace";
    }
    return h;
  }

  let hovered = null;
  chart.addEventListener("mouseover", function (e) {
    const el = e.target.closest ? e.target.closest("[data-i],[data-a]") : null;
    if (el === hovered) return;
    hovered = el;
    if (!el) { tip.style.display = "none"; return; }
    tip.innerHTML = el.dataset.i !== undefined ? eventTip(+el.dataset.i) : arrowTip(+el.dataset.a);
    tip.style.display = "block";
  });
  chart.addEventListener("mousemove", function (e) {
    if (!hovered) return;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    let x = e.clientX + 14;
    let y = e.clientY + 14;
    if (x + w > window.innerWidth - 4) x = e.clientX - w - 14;
    if (y + h > window.innerHeight - 4) y = e.clientY - h - 14;
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  });
  chart.addEventListener("mouseleave", function () { hovered = null; tip.style.display = "none"; });
  chart.addEventListener("click", function (e) {
    const el = e.target.closest ? e.target.closest("[data-i]") : null;
    select(el ? +el.dataset.i : -1);
  });

  // -- controls ------------------------------------------------------------------------
  slider.addEventListener("input", function () { setPos(+slider.value, false); });
  document.getElementById("prev").addEventListener("click", function () { play(false); step(-1); });
  document.getElementById("next").addEventListener("click", function () { play(false); step(1); });
  document.getElementById("first").addEventListener("click", function () {
    play(false); setPos(0, false); if (!visible[0]) step(1); else reveal_(0);
  });
  document.getElementById("last").addEventListener("click", function () { play(false); setPos(N - 1, true); });
  document.getElementById("play").addEventListener("click", function () { play(timer === null); });
  document.addEventListener("keydown", function (e) {
    const t = e.target;
    if (t && ["INPUT", "BUTTON", "SUMMARY", "SELECT", "TEXTAREA"].indexOf(t.tagName) >= 0) return;
    if (e.key === "ArrowRight") { play(false); step(1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { play(false); step(-1); e.preventDefault(); }
    else if (e.key === "Home") { play(false); setPos(0, true); e.preventDefault(); }
    else if (e.key === "End") { play(false); setPos(N - 1, true); e.preventDefault(); }
    else if (e.key === " ") { play(timer === null); e.preventDefault(); }
    else if (e.key === "Escape") { select(-1); }
  });
  document.querySelectorAll("input[data-f]").forEach(function (box) {
    box.addEventListener("change", function () {
      const k = +box.value;
      if (box.dataset.f === "node") nodeOn[k] = box.checked;
      else if (box.dataset.f === "layer") layerOn[k] = box.checked;
      else kindOn[k] = box.checked;
      layout();
    });
  });
  let idTimer = null;
  document.getElementById("ids").addEventListener("input", function (e) {
    const value = e.target.value;
    clearTimeout(idTimer);
    idTimer = setTimeout(function () {
      const wanted = value.split(/[\s,]+/).filter(function (x) { return x; });
      ids = wanted.length ? new Set(wanted) : null;
      layout();
    }, 200);
  });
  document.getElementById("labels").addEventListener("change", function (e) {
    chart.classList.toggle("nolabels", !e.target.checked);
  });
  document.getElementById("alabels").addEventListener("change", function (e) {
    chart.classList.toggle("noal", !e.target.checked);
  });
  document.getElementById("side").addEventListener("click", function (e) {
    const a = e.target.closest ? e.target.closest("[data-go]") : null;
    if (!a) return;
    e.preventDefault();
    const i = +a.dataset.go;
    if (!visible[i]) {   // shown whatever the filters: clear them
      nodeOn.fill(true); layerOn.fill(true); kindOn.fill(true); ids = null;
      document.querySelectorAll("input[data-f]").forEach(function (b) { b.checked = true; });
      document.getElementById("ids").value = "";
      layout();
    }
    select(i);
    reveal_(i);
  });

  if (N) layout();
})();
