// Repository pages: highlight the line range named by the URL (#_12 or
// #_12-20) and let shift-click on a line number extend a range. Without this
// file a single line is still highlighted by CSS :target.
(function () {
  "use strict";
  function rows() { return document.querySelectorAll("table.code tr.hl"); }
  function parse(hash) {
    var m = /^#_(\d+)(?:-(\d+))?$/.exec(hash || "");
    if (!m) { return null; }
    var a = parseInt(m[1], 10), b = m[2] ? parseInt(m[2], 10) : a;
    return a <= b ? [a, b] : [b, a];
  }
  function apply(scroll) {
    rows().forEach(function (r) { r.classList.remove("hl"); });
    var range = parse(window.location.hash);
    if (!range) { return; }
    var first = null;
    for (var n = range[0]; n <= range[1] && n - range[0] < 100000; n++) {
      var row = document.getElementById("_" + n);
      if (!row) { break; }
      row.classList.add("hl");
      if (!first) { first = row; }
    }
    if (scroll && first && range[0] !== range[1]) { first.scrollIntoView({block: "center"}); }
  }
  var anchor = null;
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("table.code td.ln a");
    if (!link) { return; }
    var n = parseInt(link.textContent, 10);
    if (ev.shiftKey && anchor !== null) {
      ev.preventDefault();
      var lo = Math.min(anchor, n), hi = Math.max(anchor, n);
      history.replaceState(null, "", "#_" + lo + "-" + hi);
      apply(false);
    } else {
      anchor = n;
    }
  });
  window.addEventListener("hashchange", function () { apply(false); });

  // Blame still being computed: the server shows the file and this notice,
  // then answers the fragment URL with the blame table when it is ready (it
  // holds each request a few seconds, then answers 202: ask again).
  function loadBlame() {
    var notice = document.querySelector("[data-blame-fragment]");
    if (!notice || !window.fetch) { return; }
    var url = notice.getAttribute("data-blame-fragment");
    var text = notice.querySelector(".blame-pending-text");
    var tries = 0;
    function fail(message) {
      if (text) { text.textContent = message; }
    }
    function ask() {
      tries += 1;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (resp) {
          if (resp.status === 202) {
            if (tries < 120) { setTimeout(ask, 250); } else { fail("The blame is taking very long."); }
            return null;
          }
          if (!resp.ok) { fail("The blame could not be computed (HTTP " + resp.status + ")."); return null; }
          return resp.text().then(function (html) {
            var wrap = notice.parentNode.querySelector(".code-wrap");
            var holder = document.createElement("template");
            holder.innerHTML = html;
            wrap.replaceChildren(holder.content);
            notice.remove();
            apply(true);
          });
        })
        .catch(function () {
          if (tries < 30) { setTimeout(ask, 2000); } else { fail("The blame could not be loaded."); }
        });
    }
    ask();
  }

  function start() { apply(true); loadBlame(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
