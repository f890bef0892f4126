// Pull-request pages: the Overview / Commits / Files sections as tabs,
// inline comment boxes on diff lines and thread replies, and the diff of a
// big file loaded in place. Without this file every part still works: all
// sections show at once, a line number links to the inline comment form,
// and a big file's link opens its own page. The markdown preview, quick
// replies and reactions come from issues.js.
(function () {
  "use strict";

  // -- tabs --------------------------------------------------------------------
  function setupTabs(nav) {
    var links = Array.prototype.slice.call(nav.querySelectorAll("a[data-section]"));
    var sections = links.map(function (a) { return document.getElementById(a.dataset.section); })
      .filter(Boolean);
    if (!sections.length) { return; }
    function show(id) {
      sections.forEach(function (s) { s.classList.toggle("pr-hidden", s.id !== id); });
      links.forEach(function (a) {
        var on = a.dataset.section === id;
        a.classList.toggle("active", on);
        if (on) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
      });
    }
    function fromHash() {
      var id = decodeURIComponent((location.hash || "").slice(1));
      var target = id ? document.getElementById(id) : null;
      var owner = target ? sections.filter(function (s) { return s.contains(target); })[0] : null;
      show(owner ? owner.id : sections[0].id);
      if (target && owner && target !== owner) { target.scrollIntoView(); }
    }
    links.forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        show(a.dataset.section);
        if (history.replaceState) { history.replaceState(null, "", "#" + a.dataset.section); }
      });
    });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  // -- inline comments ---------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function columns(row) {
    var table = row.closest("table");
    return (table && table.dataset.cols) || "3";
  }

  // the last row belonging to ``row``: itself, or the thread/box rows after it
  function lastRowOf(row) {
    var last = row;
    while (last.nextElementSibling && (last.nextElementSibling.classList.contains("pr-thread-row") ||
           last.nextElementSibling.classList.contains("pr-inline-row"))) {
      last = last.nextElementSibling;
    }
    return last;
  }

  function openBox(row, url, token, where) {
    var existing = row.parentNode.querySelector('tr.pr-inline-row[data-url="' + CSS.escape(url) + '"]');
    if (existing) { existing.querySelector("textarea").focus(); return; }
    var tr = el("tr", "pr-inline-row");
    tr.dataset.url = url;
    var td = el("td");
    td.colSpan = parseInt(columns(row), 10);
    var form = el("form", "pr-inline-box");
    form.method = "post";
    form.action = url;
    var label = el("label", "sr-only", "Your comment");
    var area = el("textarea");
    area.name = "comment";
    area.required = true;
    var id = "pr-inline-" + Math.random().toString(36).slice(2);
    area.id = id;
    label.htmlFor = id;
    var bar = el("div", "pr-inline-actions");
    var send = el("button", "btn btn-primary btn-small", "Comment");
    send.type = "submit";
    var cancel = el("button", "btn btn-small", "Cancel");
    cancel.type = "button";
    var status = el("span", "help");
    status.setAttribute("aria-live", "polite");
    bar.appendChild(send); bar.appendChild(cancel); bar.appendChild(status);
    form.appendChild(label); form.appendChild(area); form.appendChild(bar);
    td.appendChild(form);
    tr.appendChild(td);
    var after = where || lastRowOf(row);
    after.parentNode.insertBefore(tr, after.nextSibling);
    area.focus();
    cancel.addEventListener("click", function () { tr.remove(); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!area.value.trim()) { status.textContent = "Write something first."; return; }
      var body = new FormData();
      body.append("csrf_token", token);
      body.append("comment", area.value);
      send.disabled = true;
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "js=1", {method: "POST", body: body, credentials: "same-origin",
                            headers: {"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"}})
        .then(function (resp) { return resp.json(); })
        .then(function (data) {
          if (data.code !== "OK") { status.textContent = data.message || "Refused"; return; }
          var thread = tr.previousElementSibling &&
            tr.previousElementSibling.classList.contains("pr-thread-row") ?
            tr.previousElementSibling.querySelector(".pr-thread") : null;
          if (!thread) {
            var row2 = el("tr", "pr-thread-row");
            var cell = el("td");
            cell.colSpan = td.colSpan;
            thread = el("div", "pr-thread");
            cell.appendChild(thread);
            row2.appendChild(cell);
            tr.parentNode.insertBefore(row2, tr);
          }
          // sanitized on the server: a comment rendered by its markdown renderer
          var holder = document.createElement("div");
          holder.innerHTML = data.html;
          var reply = thread.querySelector(".pr-thread-reply");
          while (holder.firstChild) { thread.insertBefore(holder.firstChild, reply); }
          tr.remove();
        })
        .catch(function () { status.textContent = "The comment could not be sent (network error)."; })
        .then(function () { send.disabled = false; });
    });
  }

  // Line numbers on the PR page are plain cells (td.lnn, the new side): a
  // click opens the box for <table data-comment-base> + the number; old
  // numbers of removed lines (td.lno) for data-comment-base-old + the number
  // + "?side=old". On the per-file page (and files loaded in place) they are
  // links to the form.
  function setupDiff(box) {
    if (!box.classList.contains("pr-can-comment")) { return; }
    var token = box.dataset.token || "";
    box.addEventListener("click", function (ev) {
      if (!ev.target.closest || ev.button !== 0 || ev.ctrlKey || ev.metaKey) { return; }
      var link = ev.target.closest("a.pr-ln-link, a.pr-reply-link");
      var cell = link ? null : ev.target.closest("td.lnn, td.lno");
      var row = (link || cell) ? (link || cell).closest("tr") : null;
      if (!row || !box.contains(row)) { return; }
      if (cell) {
        var table = cell.closest("table");
        var number = cell.textContent.trim();
        var old = cell.classList.contains("lno");
        var base = table && (old ? table.dataset.commentBaseOld : table.dataset.commentBase);
        if (!base || !/^\d+$/.test(number)) { return; }
        openBox(row, base + number + (old ? "?side=old" : ""), token, null);
        return;
      }
      ev.preventDefault();
      if (link.classList.contains("pr-reply-link")) {
        // a reply under a thread shown in the diff: the box goes after the thread's row
        openBox(row, link.href, token, lastRowOf(row.previousElementSibling || row));
      } else {
        openBox(row, link.href, token, null);
      }
    });
  }

  // -- big files ---------------------------------------------------------------------
  function setupLoad(link) {
    link.addEventListener("click", function (ev) {
      if (ev.button !== 0 || ev.ctrlKey || ev.metaKey) { return; }
      var file = link.closest("details.diff-file");
      if (!file) { return; }
      ev.preventDefault();
      link.textContent = "Loading…";
      fetch(link.dataset.fragment || link.href, {credentials: "same-origin"})
        .then(function (resp) {
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.text();
        })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var loaded = doc.querySelector("details.diff-file");
          if (!loaded) { throw new Error("no diff"); }
          var summary = file.querySelector("summary");
          while (summary.nextSibling) { summary.nextSibling.remove(); }
          Array.prototype.slice.call(loaded.childNodes).forEach(function (node) {
            if (node.nodeName !== "SUMMARY") { file.appendChild(document.importNode(node, true)); }
          });
        })
        .catch(function () { link.textContent = "The diff could not be loaded; open it on its own page"; });
    });
  }

  function init() {
    document.querySelectorAll("nav.pr-tabs").forEach(setupTabs);
    document.querySelectorAll(".pr-diff").forEach(setupDiff);
    document.querySelectorAll("a.pr-load-file").forEach(setupLoad);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
