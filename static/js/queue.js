// The waiting page's polling budget (DESIGN.md): the page knows its number,
// polls only the public state (cacheable 1 s, identical for everyone),
// computes its own position, and asks for its personal status only when its
// number is admitted. Intervals grow with the position and carry jitter.
// Before the draw the page knows when it happens (QUEUE_DRAW_LEAD_SECONDS
// before the sale opens): it looks once a minute for a change of plan and
// wakes at the draw; it then asks for its drawn number once, at a random
// moment of a window that grows with the crowd (~1 s per 800 people, 5-45 s),
// so the draw does not bring every page to the server in the same second.
// bench/buyers.py waits the same way.
(function () {
  "use strict";
  var el = document.getElementById("queue-data");
  if (!el) return;
  var cfg = JSON.parse(el.textContent);
  var parts = JSON.parse(document.getElementById("queue-words").textContent);
  var number = cfg.number || 0;
  var box = document.getElementById("queue-status");

  // Place, people ahead and wait. The definition is the server's,
  // queueing/wait.py `wait` (the figures on the page and in the API); this is
  // its one copy here, to keep them current between polls of the public
  // state, with the same names. test_browser.py runs both on the same inputs.
  function wait(num, serving, rate) {
    var position = Math.max(num - serving, 0);
    var eta = position === 0 ? 0 : rate > 0 ? Math.ceil(position * 60 / rate) : null;
    return { position: position, ahead: Math.max(position - 1, 0), eta_seconds: eta };
  }
  // The wait in words: queueing/wait.py `words`, with the phrases the server
  // rendered in the page's language (plural forms included).
  function words(seconds) {
    if (seconds === null) return parts.unknown;
    if (seconds < 60) return parts.under;
    var minutes = Math.floor(seconds / 60 + 0.5);
    var duration;
    if (minutes < 60) {
      duration = parts.minutes[minutes];
    } else {
      minutes = 5 * Math.floor(minutes / 5 + 0.5);
      if (minutes >= 24 * 60) return parts.day;
      var hours = Math.floor(minutes / 60), rest = minutes % 60;
      duration = parts.hours[hours] + (rest ? " " + parts.minutes[rest] : "");
    }
    return parts.about.replace("%(duration)s", duration);
  }
  window.kassaQueueWait = { wait: wait, words: words };  // for the browser test

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value;
  }
  function jitter(seconds) {
    return seconds * (0.8 + Math.random() * 0.4) * 1000;
  }
  function beforeDraw() {
    var left = (cfg.drawAt || 0) - Date.now() / 1000;
    return left > 1 ? jitter(Math.min(60, left)) : jitter(1);
  }
  function drawWindow(pub) {
    return Math.random() * Math.min(45, Math.max(5, (pub.tail || 0) / 800)) * 1000;
  }
  function later(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }
  function delay(position) {
    var base = position === null ? 10 : Math.min(30, 2 + position / 500);
    return base * (0.75 + Math.random() * 0.5) * 1000;
  }
  function say(message, link) {
    box.innerHTML = "";
    var p = document.createElement("p");
    var b = document.createElement("strong");
    b.textContent = message;
    p.appendChild(b);
    box.appendChild(p);
    if (link) {
      var a = document.createElement("a");
      a.className = "btn";
      a.href = cfg.eventUrl;
      a.textContent = cfg.labels.go;
      box.appendChild(a);
    }
  }
  function status() {
    return fetch(cfg.statusUrl, { headers: { "X-Queue-Token": cfg.token }, credentials: "omit" })
      .then(function (r) { return r.json(); });
  }
  function admitted(s) {
    if (s.pass) {
      var ttl = Math.max(1, s.pass_expires_at - Math.floor(Date.now() / 1000));
      // The cookie's name is the server's (ticketing.cookies.pass_cookie).
      document.cookie = cfg.passCookie + "=" + s.pass + "; path=/; max-age=" + ttl + "; samesite=lax";
    }
    say(cfg.labels.admitted, true);
  }
  function poll() {
    fetch(cfg.stateUrl, { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (pub) {
        if (!number && pub.state !== "prequeue") {
          // The shuffle happened: learn the drawn number once.
          return later(drawWindow(pub)).then(status).then(function (s) {
            number = s.number || 0;
            if (s.token) cfg.token = s.token;
            return pub;
          });
        }
        return pub;
      })
      .then(function (pub) {
        var figures = number ? wait(number, pub.serving, pub.rate_per_minute) : null;
        var position = figures ? figures.position : null;
        if ((number && position === 0) || pub.state === "off") {
          return status().then(function (s) {
            if (s.state === "admitted") admitted(s);
            else setTimeout(poll, delay(0));
          });
        }
        if (pub.state === "sold_out") { say(cfg.labels.soldOut, false); return; }
        if (pub.state === "closed") { say(cfg.labels.closed, false); return; }
        if (figures) {
          text("q-number", number);
          text("q-ahead", figures.ahead);
          text("q-eta", words(figures.eta_seconds));
          var bar = document.getElementById("q-progress");
          if (bar) bar.value = Math.min(100, Math.floor(100 * pub.serving / number));
        }
        if (pub.tickets_left !== null) text("q-left", pub.tickets_left);
        setTimeout(poll, pub.state === "prequeue" ? beforeDraw() : delay(position));
      })
      .catch(function () { setTimeout(poll, delay(null)); });
  }
  setTimeout(poll, delay(0) / 2);
})();
