/* The book's explorable figures (optlab.explore): every path was computed by optlib when
 * the chapter ran and ships inside the page as JSON. This script only draws: a menu picks
 * the optimiser, a slider per hyper-parameter picks one of the precomputed paths, and
 * two SVG panels show the path on the surface's contour lines and the loss along it. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 400;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function fmt(v) { return Number(v).toPrecision(3).replace(/\.?0+$/, ""); }

  /* "x,y x,y ..." pieces of a path, split where it has no point (null). */
  function pieces(points, sx, sy) {
    var out = [], cur = [];
    points.forEach(function (p) {
      if (p === null) { if (cur.length) { out.push(cur); } cur = []; return; }
      cur.push(sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1));
    });
    if (cur.length) { out.push(cur); }
    return out.map(function (c) { return c.join(" "); });
  }

  function build(root) {
    var data = JSON.parse(root.querySelector("script.optlab-explore-data").textContent);
    var fallback = root.querySelector(".optlab-explore-fallback");
    if (fallback) { fallback.hidden = true; }
    var x0 = data.window[0], x1 = data.window[1], y0 = data.window[2], y1 = data.window[3];
    var H = Math.round(W * (y1 - y0) / (x1 - x0));
    var sx = function (x) { return (x - x0) / (x1 - x0) * W; };
    var sy = function (y) { return H - (y - y0) / (y1 - y0) * H; };

    var controls = html("div", "optlab-explore-controls", root);
    var pick = html("label", "optlab-explore-pick", controls, "optimiser ");
    var menu = html("select", "", pick);
    Object.keys(data.methods).forEach(function (name) {
      var o = html("option", "", menu, name); o.value = name;
    });
    var knobs = html("div", "optlab-explore-knobs", controls);

    var surf = el("svg", {viewBox: "0 0 " + W + " " + H, class: "optlab-explore-surface",
                          role: "img", "aria-label": "path on the surface"}, root);
    data.contours.forEach(function (c) {
      pieces(c[1], sx, sy).forEach(function (pts) {
        el("polyline", {points: pts, class: "contour"}, surf);
      });
    });
    el("path", {d: "M" + sx(data.minimum[0]) + " " + sy(data.minimum[1]) +
                   " m-7 0 h14 m-7 -7 v14", class: "minimum"}, surf);
    var trail = el("g", {class: "trail"}, surf);
    el("circle", {cx: sx(data.start[0]), cy: sy(data.start[1]), r: 5, class: "start"}, surf);

    var LH = 180, pad = 48;
    var loss = el("svg", {viewBox: "0 0 " + W + " " + LH, class: "optlab-explore-loss",
                          role: "img", "aria-label": "loss along the path"}, root);
    var lossLine = el("g", {class: "trail"}, loss);
    var axes = el("g", {class: "axes"}, loss);
    var readout = html("p", "optlab-explore-readout", root);

    function current() {
      var m = data.methods[menu.value], index = 0;
      m.knobs.forEach(function (k, i) {
        index = index * k.values.length + Number(knobs.children[i].querySelector("input").value);
      });
      return {m: m, index: index};
    }

    function draw() {
      var c = current(), path = c.m.paths[c.index], ls = c.m.losses[c.index];
      trail.textContent = "";
      pieces(path, sx, sy).forEach(function (pts) { el("polyline", {points: pts}, trail); });
      var vals = ls.filter(function (v) { return v !== null && v > 0; });
      lossLine.textContent = ""; axes.textContent = "";
      var last = ls[ls.length - 1];
      if (vals.length) {
        var lo = Math.log10(Math.min.apply(null, vals)), hi = Math.log10(Math.max.apply(null, vals));
        if (hi - lo < 1) { lo = hi - 1; }
        var lx = function (t) { return pad + t / data.steps * (W - pad - 8); };
        var ly = function (v) { return 8 + (hi - Math.log10(Math.max(v, 1e-300))) / (hi - lo) * (LH - 40); };
        var pts = ls.map(function (v, t) { return v === null ? null : [t, v]; });
        pieces(pts, lx, ly).forEach(function (p) { el("polyline", {points: p}, lossLine); });
        el("line", {x1: pad, y1: LH - 32, x2: W - 8, y2: LH - 32}, axes);
        el("line", {x1: pad, y1: 8, x2: pad, y2: LH - 32}, axes);
        [Math.ceil(lo), Math.floor(hi)].forEach(function (e) {
          var t = el("text", {x: pad - 4, y: ly(Math.pow(10, e)) + 5, "text-anchor": "end"}, axes);
          t.textContent = "1e" + e;
        });
        var xl = el("text", {x: (pad + W) / 2, y: LH - 6, "text-anchor": "middle"}, axes);
        xl.textContent = "step (loss on a log scale)";
      }
      var settings = c.m.knobs.map(function (k, i) {
        var v = k.values[Number(knobs.children[i].querySelector("input").value)];
        return k.label + " = " + fmt(v);
      }).join(", ");
      readout.textContent = menu.value + ", " + settings + ": " +
        (last === null ? "the path left the window (diverged)" :
         "loss " + fmt(last) + " after " + data.steps + " steps");
      root.setAttribute("data-state", menu.value + ":" + c.index);
    }

    function rebuild() {
      knobs.textContent = "";
      data.methods[menu.value].knobs.forEach(function (k) {
        var row = html("label", "optlab-explore-knob", knobs);
        var name = html("span", "", row, k.label + " = ");
        var out = html("output", "", row, fmt(k.values[k.default]));
        var input = html("input", "", row);
        input.type = "range"; input.min = 0; input.max = k.values.length - 1; input.step = 1;
        input.value = k.default;
        input.setAttribute("aria-label", k.label);
        input.addEventListener("input", function () {
          out.textContent = fmt(k.values[Number(input.value)]); draw();
        });
        name.title = k.key;
      });
      draw();
    }

    menu.addEventListener("change", rebuild);
    rebuild();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".optlab-explore"), function (root) {
      try { build(root); } catch (err) {
        root.setAttribute("data-error", String(err));
        throw err;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
}());
