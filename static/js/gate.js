// The gate page: camera QR scanning (barcode-detector's ZXing WebAssembly
// reader, vendored) and typed codes, both sent to the check-in API; a big
// green or red answer with the reason; the supervisor override; per-gate
// counts. Every text comes from the page (#gate-config), in its language.
(function () {
  "use strict";
  var GATE_KEY = "kassa.gate";
  var chooser = document.querySelector("form.gate-choose input[name=gate]");
  if (chooser && !chooser.value) {
    try {
      chooser.value = localStorage.getItem(GATE_KEY) || ""; // this phone's gate, last time
    } catch (e) {}
  }
  var root = document.getElementById("gate");
  if (!root) return;
  var config = JSON.parse(document.getElementById("gate-config").textContent);
  try {
    localStorage.setItem(GATE_KEY, config.gate);
  } catch (e) {}
  var texts = config.texts;
  var lang = document.documentElement.lang || "ru";
  var answer = document.getElementById("gate-answer");
  var verdict = document.getElementById("gate-verdict");
  var reason = document.getElementById("gate-reason");
  var next = document.getElementById("gate-next");
  var override = document.getElementById("gate-override");
  var overrideReason = document.getElementById("gate-override-reason");
  var manual = document.getElementById("gate-manual");
  var codeInput = document.getElementById("gate-code");
  var video = document.getElementById("gate-video");
  var busy = false; // a check is on its way or an answer is shown: the camera waits
  var lastScanned = null; // what the refused answer is about (for the override)
  // Code -> when the camera last saw it: a QR held in front of the camera is
  // checked once, again only after it was out of sight for a while or on "Next ticket".
  var seen = {};
  var SAME_CODE_PAUSE_MS = 3000;
  var RESUME_AFTER_OK_MS = 1500;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] == null ? "" : values[key];
    });
  }

  function when(iso, zone, withDate) {
    if (!iso) return "";
    var options = { timeZone: zone, hour: "2-digit", minute: "2-digit" };
    if (withDate) {
      options.day = "numeric";
      options.month = "long";
    }
    return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
  }

  function place(ticket) {
    var parts = [ticket.section];
    if (ticket.row) parts.push(texts.row + " " + ticket.row);
    if (ticket.seat) parts.push(texts.seat + " " + ticket.seat);
    return parts.filter(Boolean).join(", ") + (ticket.tier ? " · " + ticket.tier : "");
  }

  function explain(body) {
    var ticket = body.ticket;
    switch (body.result) {
      case "ok":
        return place(ticket);
      case "already_used":
        return fill(ticket.used_gate ? texts.already_used : texts.already_used_no_gate, {
          gate: ticket.used_gate,
          time: when(ticket.used_at, config.timeZone, true),
        });
      case "other_event":
      case "wrong_day":
        return fill(texts[body.result], {
          event: ticket.event.title,
          when: when(ticket.event.starts_at, ticket.event.time_zone, true),
        });
      default:
        return texts[body.result] || texts.unknown;
    }
  }

  function show(state, title, text) {
    answer.dataset.state = state;
    verdict.textContent = title;
    reason.textContent = text;
    next.hidden = state === "idle" || state === "checking";
    if (state === "ok" || state === "refused") {
      if (navigator.vibrate) navigator.vibrate(state === "ok" ? 120 : [80, 60, 80, 60, 80]);
    }
  }

  function ready() {
    busy = false;
    lastScanned = null;
    override.hidden = true;
    overrideReason.value = "";
    show("idle", readyText, root.classList.contains("no-camera") ? texts.camera_off : texts.camera_on);
  }
  var readyText = verdict.textContent;

  function resume() {
    if (answer.dataset.state === "ok") busy = false;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function failed(reply) {
    // Not an answer about the ticket (no connection, signed out, throttled):
    // amber, "not checked", and "Next ticket" tries again.
    var error = reply && reply.data && reply.data.error;
    show("error", texts.not_checked, error ? error.message : texts.offline);
  }

  function check(scanned) {
    busy = true;
    seen[scanned] = Date.now();
    override.hidden = true;
    show("checking", texts.checking, "");
    post(config.checkin, { code: scanned, event: config.event, gate: config.gate })
      .then(function (reply) {
        if (reply.status !== 200) return failed(reply);
        var body = reply.data;
        var ok = body.result === "ok";
        show(ok ? "ok" : "refused", ok ? texts.ok : texts.refused, explain(body));
        // After a green answer the camera reads the next ticket by itself (the
        // answer stays until then); a refusal waits for "Next ticket".
        if (ok) setTimeout(resume, RESUME_AFTER_OK_MS);
        lastScanned = ok || !body.ticket ? null : scanned;
        override.hidden = !(config.canOverride && lastScanned);
        counts();
      })
      .catch(function () {
        failed(null);
      });
  }

  override.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!lastScanned) return;
    var body = {
      code: lastScanned,
      event: config.event,
      gate: config.gate,
      reason: overrideReason.value,
    };
    post(config.override, body)
      .then(function (reply) {
        if (reply.status !== 200) {
          var error = reply.data && reply.data.error;
          reason.textContent = error ? error.message : texts.offline;
          return;
        }
        override.hidden = true;
        lastScanned = null;
        show("ok", texts.override_ok, place(reply.data.ticket));
        setTimeout(resume, RESUME_AFTER_OK_MS);
        counts();
      })
      .catch(function () {
        reason.textContent = texts.offline;
      });
  });

  next.addEventListener("click", function () {
    seen = {}; // the person at the gate asked: read the QR in view again
    ready();
    codeInput.focus({ preventScroll: true });
  });

  manual.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = codeInput.value.trim();
    if (!value) return;
    codeInput.value = "";
    check(value);
  });

  // --- per-gate counts, live ------------------------------------------------------
  var countsBody = document.getElementById("gate-counts");
  var total = document.getElementById("gate-total");

  function counts() {
    fetch(config.counts, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        total.textContent = data.admitted + " / " + data.tickets;
        if (!data.gates.some(function (row) { return row.gate === config.gate; })) {
          data.gates.push({ gate: config.gate, admitted: 0, overrides: 0 }); // this gate, at 0
        }
        countsBody.replaceChildren.apply(
          countsBody,
          data.gates.map(function (row) {
            var tr = document.createElement("tr");
            if (row.gate === config.gate) tr.className = "mine";
            [row.gate || texts.no_gate, row.admitted, row.overrides].forEach(function (value) {
              var td = document.createElement("td");
              td.textContent = value;
              tr.appendChild(td);
            });
            return tr;
          })
        );
      })
      .catch(function () {});
  }
  counts();
  setInterval(function () {
    if (!document.hidden) counts();
  }, 10000);

  // --- camera ---------------------------------------------------------------------
  function cameraOff() {
    root.classList.add("no-camera");
    if (!busy) reason.textContent = texts.camera_off;
  }

  function scanLoop(detector) {
    function tick() {
      if (video.readyState < 2) return setTimeout(tick, 150);
      detector
        .detect(video)
        .then(function (codes) {
          var value = codes.length ? codes[0].rawValue : null;
          if (!value) return;
          var last = seen[value];
          seen[value] = Date.now();
          if (!busy && !(last && seen[value] - last < SAME_CODE_PAUSE_MS)) check(value);
        })
        .catch(function () {})
        .then(function () {
          setTimeout(tick, 150);
        });
    }
    tick();
  }

  function startCamera() {
    var api = window.BarcodeDetectionAPI;
    if (!api || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return cameraOff();
    }
    api.prepareZXingModule({
      overrides: {
        locateFile: function (path, prefix) {
          return path.endsWith(".wasm") ? config.wasm : prefix + path;
        },
      },
    });
    var detector = new api.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        return video.play();
      })
      .then(function () {
        root.classList.add("camera-on");
        scanLoop(detector);
      })
      .catch(cameraOff);
  }
  startCamera();
})();
