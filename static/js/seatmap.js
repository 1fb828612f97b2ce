// Seat picker of a seated section (events/templates/events/section_seated.html).
//
// The form works without this script: the seat list's checkboxes are the
// form fields. This script makes the map the way to fill them in:
// - zoom and pan with @panzoom/panzoom (pinch, drag, ctrl/⌘ + wheel, and the
//   [data-zoom] buttons); the first "zoom in" goes straight to the scale at
//   which a seat is a comfortable finger target (TARGET_PX), so a phone buyer
//   is one tap away from seats that can be tapped;
// - each available seat ([data-seat], role=checkbox) toggles its checkbox on a
//   tap or click, or with Space/Enter; arrow keys move to the nearest seat in
//   that direction on the drawing (rows may run across, round or up and down
//   the map), Home/End to the ends of the row; one seat at a time is in the
//   tab order (roving tabindex), and the map pans to keep it in view;
// - the summary lists the chosen seats with the total, and a live region says
//   what changed. Texts and prices come from the page (json_script).
(function () {
  "use strict";
  var form = document.querySelector(".seat-picker");
  var configNode = document.getElementById("seat-map-config");
  if (!form || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var text = config.text;
  var limit = config.limit;
  var svg = form.querySelector(".seat-map");
  var viewport = form.querySelector(".seat-map-viewport");
  var canvas = form.querySelector(".seat-map-canvas");
  var tools = form.querySelector(".seat-map-tools");
  var frame = form.querySelector(".seat-map-frame");
  var summary = form.querySelector("[data-selection-summary]");
  var list = summary.querySelector("[data-summary-list]");
  var empty = summary.querySelector("[data-summary-empty]");
  var totals = summary.querySelector("[data-summary-totals]");
  var countNode = summary.querySelector("[data-summary-count]");
  var totalNode = summary.querySelector("[data-summary-total]");
  var errorNode = summary.querySelector("[data-summary-error]");
  var foot = summary.querySelector(".seat-summary-foot");
  var status = form.querySelector("[data-seat-status]");
  var seats = Array.prototype.slice.call(svg.querySelectorAll("[data-seat]"));
  var TARGET_PX = 30; // seat diameter after the first zoom in; WCAG 2.2 asks 24 at least
  var TAP_SLOP_PX = 8; // a pointer that moved further was panning, not tapping

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  // --- money: added up in minor units, shown like the server's money_format.
  function minorUnits(price) {
    var parts = String(price).split(".");
    var cents = ((parts[1] || "") + "00").slice(0, 2);
    return parseInt(parts[0], 10) * 100 + parseInt(cents, 10);
  }
  // Written as ticketing/money.py writes it (its pattern and digit marks come
  // in the config): browsers' own locale data differ (Chromium: Kazakh "120,000").
  function moneyText(minor) {
    var shape = config.money;
    var whole = String(Math.floor(minor / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, shape.group);
    var cents = minor % 100;
    var amount = cents ? whole + shape.decimal + String(cents + 100).slice(1) : whole;
    return fill(shape.pattern, { amount: amount });
  }

  // --- the seats and their checkboxes
  var byId = {};
  var rows = {};
  seats.forEach(function (seat) {
    var id = seat.dataset.seat;
    byId[id] = seat;
    seat.setAttribute("tabindex", "-1");
    seat.cx0 = parseFloat(seat.getAttribute("cx"));
    seat.cy0 = parseFloat(seat.getAttribute("cy"));
    (rows[seat.dataset.row] = rows[seat.dataset.row] || []).push(seat);
  });
  function box(seat) { return document.getElementById("seat-" + seat.dataset.seat); }
  function chosen() {
    return seats.filter(function (seat) { var b = box(seat); return b && b.checked; });
  }
  var current = seats[0] || null; // the seat in the tab order
  if (current) current.setAttribute("tabindex", "0");

  var pointerFocus = false; // a tapped seat is in view already: no panning to it
  function setCurrent(seat, focus) {
    if (current && current !== seat) current.setAttribute("tabindex", "-1");
    current = seat;
    seat.setAttribute("tabindex", "0");
    if (focus) seat.focus({ preventScroll: true });
  }

  function render(seat) {
    var on = box(seat).checked;
    seat.setAttribute("aria-checked", on ? "true" : "false");
    seat.classList.toggle("picked", on);
  }

  function showError(message) {
    errorNode.textContent = message;
    errorNode.hidden = !message;
  }

  function refresh() {
    var picked = chosen();
    var total = 0;
    list.textContent = "";
    picked.forEach(function (seat) {
      total += minorUnits(config.prices[seat.dataset.tier] || "0");
      var item = document.createElement("li");
      // "Row 4, seat 13 — VIP, 60 000 ₸" (events/views.py): a phone shows the
      // place only, the prices being in the legend and the total.
      var label = seat.getAttribute("aria-label");
      var cut = label.indexOf(" — ");
      var name = document.createElement("span");
      name.textContent = cut < 0 ? label : label.slice(0, cut);
      if (cut >= 0) {
        var detail = document.createElement("span");
        detail.className = "seat-summary-detail";
        detail.textContent = label.slice(cut);
        name.appendChild(detail);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "seat-remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", fill(text.remove, { seat: seat.getAttribute("aria-label") }));
      remove.addEventListener("click", function () { toggle(seat); });
      item.appendChild(name);
      item.appendChild(remove);
      list.appendChild(item);
    });
    empty.hidden = picked.length > 0;
    summary.classList.toggle("has-seats", picked.length > 0);
    reserveBar();
    totals.hidden = picked.length === 0;
    countNode.textContent = fill(text.count, { count: picked.length, limit: limit });
    totalNode.textContent = moneyText(total);
    return { count: picked.length, total: total };
  }

  // --- the bar that stays in sight once seats are chosen (events.css): on a
  // phone the summary's foot, fixed at the bottom of the screen; wider, the
  // whole summary, sticky. Its height is reserved (--seat-bar: scroll padding,
  // and on a phone room at the end of the page) so that scrolling to the map
  // or to a seat never leaves them under it.
  function barNode() {
    if (!summary.classList.contains("has-seats")) return null;
    if (window.getComputedStyle(foot).position === "fixed") return foot;
    return window.getComputedStyle(summary).position === "sticky" ? summary : null;
  }
  var barHeight = 0;
  function reserveBar() {
    var bar = barNode();
    var height = bar ? Math.ceil(bar.getBoundingClientRect().height) : 0;
    document.documentElement.style.setProperty("--seat-bar", height + "px");
    var grew = height > barHeight;
    barHeight = height;
    if (grew) clearFrame(bar);
  }
  function clearFrame(bar) {
    // The bar has just appeared or grown: if it came over the map's lower
    // edge, the page moves up by as much (never so far that the map's top
    // leaves the screen).
    var b = bar.getBoundingClientRect();
    var f = frame.getBoundingClientRect();
    if (f.top >= b.top || f.bottom <= b.top) return;
    var by = Math.min(f.bottom - b.top, Math.max(0, f.top));
    if (by > 0) window.scrollBy(0, by);
  }
  if (window.ResizeObserver) {
    var watch = new window.ResizeObserver(reserveBar);
    watch.observe(foot);
    watch.observe(summary);
  }
  window.addEventListener("resize", reserveBar);

  function announce(message) {
    // A changed text is what a live region reads: clear it first so the same
    // sentence twice in a row is read twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  // Seats sold together ([data-pair]: a love seat's two halves, a wheelchair
  // space and its companion seat) are chosen and removed as one: the server
  // refuses half a pair (orders/holdkinds/pairs.py), so one tap takes both.
  function group(seat) {
    var mate = seat.dataset.pair && byId[seat.dataset.pair];
    return mate ? [seat, mate] : [seat];
  }

  function toggle(seat) {
    var b = box(seat);
    if (!b) return;
    var seatsTogether = group(seat);
    var on = !b.checked;
    if (on && chosen().length + seatsTogether.length > limit) {
      showError(text.limit);
      announce(text.limit);
      return;
    }
    seatsTogether.forEach(function (s) { box(s).checked = on; render(s); });
    showError("");
    var state = refresh();
    var label = seat.getAttribute("aria-label");
    var change = fill(on ? text.chosen : text.removed, { seat: label });
    if (seatsTogether.length > 1) change += ". " + fill(text.pair, { seat: label });
    announce(change + ". " + fill(text.count, { count: state.count, limit: limit }) + ". "
      + text.total + ": " + moneyText(state.total) + ".");
  }

  // The seat list's checkboxes stay usable and the map follows them.
  form.addEventListener("change", function (e) {
    var b = e.target;
    if (b.name !== "seats") return;
    var seat = byId[b.value];
    var together = seat ? group(seat) : [];
    together.forEach(function (s) { box(s).checked = b.checked; });
    if (b.checked && chosen().length > limit) {
      together.forEach(function (s) { box(s).checked = false; });
      b.checked = false;
      showError(text.limit);
    }
    together.forEach(render);
    refresh();
  });
  form.addEventListener("submit", function (e) {
    if (chosen().length === 0 && e.submitter && e.submitter.form === form) {
      e.preventDefault();
      showError(text.none);
      announce(text.none);
    }
  });

  // --- pointer: a tap toggles, a drag pans (Panzoom), two fingers zoom (Panzoom)
  var down = null;
  viewport.addEventListener("pointerdown", function (e) {
    down = { x: e.clientX, y: e.clientY, moved: false };
  }, true);
  viewport.addEventListener("pointermove", function (e) {
    if (down && Math.abs(e.clientX - down.x) + Math.abs(e.clientY - down.y) > TAP_SLOP_PX) {
      down.moved = true;
    }
  }, true);
  svg.addEventListener("click", function (e) {
    var seat = e.target.closest && e.target.closest("[data-seat]");
    if (!seat || (down && down.moved)) return;
    pointerFocus = true;
    setCurrent(seat, true);
    pointerFocus = false;
    toggle(seat);
  });

  // --- keyboard
  function nearest(from, dx, dy) {
    // The closest seat within 60° of the arrow's direction, sideways offset
    // weighing double, so a row is followed before another row is entered.
    var best = null;
    var bestScore = Infinity;
    seats.forEach(function (seat) {
      if (seat === from) return;
      var vx = seat.cx0 - from.cx0;
      var vy = seat.cy0 - from.cy0;
      var along = vx * dx + vy * dy;
      if (along <= 0) return;
      var side = Math.abs(vx * dy - vy * dx);
      if (side > along * 1.8) return;
      var score = along + 2 * side;
      if (score < bestScore) { bestScore = score; best = seat; }
    });
    return best;
  }
  var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  svg.addEventListener("keydown", function (e) {
    var seat = e.target.closest && e.target.closest("[data-seat]");
    if (!seat) return;
    var next = null;
    if (ARROWS[e.key]) {
      next = nearest(seat, ARROWS[e.key][0], ARROWS[e.key][1]);
    } else if (e.key === "Home" || e.key === "End") {
      var row = rows[seat.dataset.row];
      next = e.key === "Home" ? row[0] : row[row.length - 1];
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      toggle(seat);
      return;
    } else if (panzoom && (e.key === "+" || e.key === "=")) {
      zoomIn(seat);
    } else if (panzoom && e.key === "-") {
      zoomOut(seat);
    } else {
      return;
    }
    e.preventDefault();
    if (next) setCurrent(next, true);
  });
  svg.addEventListener("focusin", function (e) {
    var seat = e.target.closest && e.target.closest("[data-seat]");
    if (!seat) return;
    setCurrent(seat, false);
    if (!pointerFocus) keepInView(seat);
  });

  // --- row labels beside the frame while zoomed, for the rows whose own
  // labels (beyond both ends of the row) are out of view. They go in a gutter
  // at the side the rows start from (events.css), level with the row's seat
  // nearest to it: over the map they hid the last seat of each row.
  var edge = document.createElement("div");
  edge.className = "row-edge-labels";
  edge.setAttribute("aria-hidden", "true");
  var places = {}; // row -> [[x, y], …] of every seat in seat order, taken ones too
  Array.prototype.forEach.call(svg.querySelectorAll(".seat[data-row]"), function (c) {
    (places[c.dataset.row] = places[c.dataset.row] || []).push(
      [parseFloat(c.getAttribute("cx")), parseFloat(c.getAttribute("cy"))]);
  });
  var ends = {}; // row -> [[x, y], …] of its labels
  Array.prototype.forEach.call(svg.querySelectorAll("[data-row-label]"), function (t) {
    (ends[t.textContent] = ends[t.textContent] || []).push(
      [parseFloat(t.getAttribute("x")), parseFloat(t.getAttribute("y"))]);
  });
  // Where most rows start: seat 1 at the right end (as a spectator facing the
  // field sees it) puts the gutter on the right.
  var gutterLeft = Object.keys(places).reduce(function (votes, row) {
    var p = places[row];
    return votes + (p.length > 1 ? (p[0][0] <= p[p.length - 1][0] ? 1 : -1) : 0);
  }, 0) >= 0;
  function projector() {
    // Drawing units to screen pixels: the SVG fills the (zoomed) canvas and
    // is centred in it at one scale for both axes (preserveAspectRatio meet).
    var r = canvas.getBoundingClientRect();
    var vb = svg.viewBox.baseVal;
    var k = Math.min(r.width / vb.width, r.height / vb.height);
    var ox = r.left + (r.width - vb.width * k) / 2 - vb.x * k;
    var oy = r.top + (r.height - vb.height * k) / 2 - vb.y * k;
    return function (p) { return [ox + p[0] * k, oy + p[1] * k]; };
  }
  var TAG_H = 20; // height a label takes, for keeping labels apart
  function placeEdgeLabels() {
    edge.textContent = "";
    if (!panzoom || scale() <= 1.001) return;
    var v = viewport.getBoundingClientRect();
    var g = edge.getBoundingClientRect();
    var at = projector();
    function inside(p) {
      return p[0] >= v.left && p[0] <= v.right && p[1] >= v.top && p[1] <= v.bottom;
    }
    var taken = [];
    Object.keys(places).forEach(function (row) {
      if ((ends[row] || []).some(function (p) { return inside(at(p)); })) return;
      var near = null; // the row's seat in view nearest to the gutter
      places[row].forEach(function (seat) {
        var q = at(seat);
        if (inside(q) && (!near || (gutterLeft ? q[0] < near[0] : q[0] > near[0]))) near = q;
      });
      if (!near) return;
      var y = Math.min(Math.max(near[1], v.top + TAG_H / 2 + 2), v.bottom - TAG_H / 2 - 2);
      if (taken.some(function (t) { return Math.abs(t - y) < TAG_H; })) return;
      taken.push(y);
      var tag = document.createElement("span");
      tag.textContent = row;
      tag.style.top = Math.round(y - g.top) + "px";
      edge.appendChild(tag);
    });
  }
  var edgePending = false;
  function edgeLater() {
    if (edgePending) return;
    edgePending = true;
    window.requestAnimationFrame(function () { edgePending = false; placeEdgeLabels(); });
  }

  // --- zoom and pan
  var panzoom = null;
  var tapScale = 1;
  function scale() { return panzoom ? panzoom.getScale() : 1; }
  function measure() {
    // The scale at which a seat is TARGET_PX across (measured, so it holds
    // for any section size, screen width and device pixel ratio).
    if (!seats.length) return;
    var across = seats[0].getBoundingClientRect().width / scale();
    tapScale = across > 0 ? Math.max(1, TARGET_PX / across) : 1;
    panzoom.setOptions({ maxScale: Math.max(4, tapScale * 2.5) });
  }
  function keepInView(seat) {
    if (!panzoom || scale() <= 1) return;
    var s = seat.getBoundingClientRect();
    var v = viewport.getBoundingClientRect();
    var margin = Math.min(48, v.width / 6);
    var dx = 0;
    var dy = 0;
    if (s.left < v.left + margin) dx = v.left + margin - s.left;
    else if (s.right > v.right - margin) dx = v.right - margin - s.right;
    if (s.top < v.top + margin) dy = v.top + margin - s.top;
    else if (s.bottom > v.bottom - margin) dy = v.bottom - margin - s.bottom;
    if (dx || dy) panzoom.pan(dx / scale(), dy / scale(), { relative: true, animate: true });
  }
  function settle() {
    // Panzoom keeps the frame covered by the canvas, but the drawing in the
    // canvas can be smaller than the frame (a wide section on a phone's tall
    // frame): bring it back so the frame never shows more empty margin than
    // it does at the whole-section view. Worked out from Panzoom's values,
    // not from the screen, so it holds while a zoom is still animating.
    var s = scale();
    var pan = panzoom.getPan();
    var w = viewport.clientWidth;
    var h = viewport.clientHeight;
    var vb = svg.viewBox.baseVal;
    var k = Math.min(w / vb.width, h / vb.height);
    function screen(p, size, offset) { return size / 2 + s * (p - size / 2 + offset); }
    function shift(lo, hi, size) {
      if (hi - lo <= size) return size / 2 - (lo + hi) / 2; // smaller than the frame: centred
      if (lo > 0) return -lo;
      if (hi < size) return size - hi;
      return 0;
    }
    var left = (w - vb.width * k) / 2;
    var top = (h - vb.height * k) / 2;
    var dx = shift(screen(left, w, pan.x), screen(w - left, w, pan.x), w);
    var dy = shift(screen(top, h, pan.y), screen(h - top, h, pan.y), h);
    if (Math.abs(dx) > 0.5 || Math.abs(dy) > 0.5) {
      panzoom.pan(pan.x + dx / s, pan.y + dy / s, { animate: true });
    }
  }
  function zoomTo(to, seat) {
    if (seat) {
      // From the keyboard: zoom about the seat in focus, so it stays in view.
      var r = seat.getBoundingClientRect();
      panzoom.zoomToPoint(to, { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 });
    } else {
      panzoom.zoom(to, { animate: true }); // about the middle of the frame
    }
    settle();
  }
  function zoomIn(seat) {
    var s = scale();
    zoomTo(s < tapScale * 0.99 ? tapScale : s * 1.5, seat);
  }
  function zoomOut(seat) {
    var s = scale();
    zoomTo(s > tapScale * 1.01 && s / 1.5 < tapScale ? tapScale : s / 1.5, seat);
  }
  function sizeViewport() {
    // As tall as the section is drawn, within limits: a phone gets room to
    // zoom into even a long, shallow section; a desktop no empty bands.
    var box = svg.viewBox.baseVal;
    var natural = box && box.width ? viewport.clientWidth * box.height / box.width : 320;
    // On a phone the zoom buttons above the map and the bar with the hold
    // button at the bottom of the screen fit beside it, and the page can still
    // be scrolled by a finger off the map (nor is a wide section drawn in the
    // middle of a tall empty frame).
    var narrow = window.innerWidth < 720;
    var low = narrow ? 240 : 320;
    var high = Math.max(low, window.innerHeight * (narrow ? 0.6 : 0.75));
    viewport.style.height = Math.round(Math.min(Math.max(natural, low), high)) + "px";
  }
  function updateButtons() {
    var s = scale();
    var max = panzoom.getOptions().maxScale;
    tools.querySelector("[data-zoom=in]").disabled = s >= max * 0.999;
    tools.querySelector("[data-zoom=out]").disabled = s <= 1.001;
    tools.querySelector("[data-zoom=reset]").disabled = s <= 1.001;
    viewport.classList.toggle("zoomed", s > 1.001);
  }
  if (window.Panzoom && seats.length) {
    frame.classList.add(gutterLeft ? "gutter-left" : "gutter-right");
    frame.appendChild(edge);
    sizeViewport();
    panzoom = window.Panzoom(canvas, {
      minScale: 1,
      maxScale: 4,
      contain: "outside", // the map always covers its frame: nothing to get lost in
      cursor: "grab",
      step: 0.9, // pinch speed (Panzoom adds step × distance / 80 px to the scale)
      // Panzoom's default also stops the event, which would hide it from the
      // tap detection above; the default action is all that must not happen.
      handleStartEvent: function (e) { e.preventDefault(); },
    });
    tools.hidden = false;
    measure();
    updateButtons();
    canvas.addEventListener("panzoomchange", function () { updateButtons(); edgeLater(); });
    canvas.addEventListener("transitionend", edgeLater); // an animated zoom has settled
    canvas.addEventListener("panzoomend", settle); // a drag or a pinch is over
    tools.addEventListener("click", function (e) {
      var button = e.target.closest("[data-zoom]");
      if (!button) return;
      var action = button.dataset.zoom;
      if (action === "in") zoomIn(null);
      else if (action === "out") zoomOut(null);
      else panzoom.reset({ animate: true });
    });
    // Ctrl/⌘ + wheel (and a trackpad's pinch) zoom; a plain wheel scrolls the page.
    viewport.addEventListener("wheel", function (e) {
      if (e.ctrlKey || e.metaKey) { panzoom.zoomWithWheel(e); settle(); }
    }, { passive: false });
    window.addEventListener("resize", function () {
      sizeViewport();
      measure();
      updateButtons();
      edgeLater();
    });
  }

  // A page restored from the back/forward cache keeps its ticked boxes.
  seats.forEach(render);
  refresh();
})();
