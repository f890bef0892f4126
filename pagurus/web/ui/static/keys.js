// Keyboard shortcuts, as on other forges; "?" lists them. Never while typing
// in a field, never with Ctrl/Alt/Meta (the browser's own shortcuts stay).
(function () {
  "use strict";
  var ROWS = ".il-row, .list-row";
  var GO = {  // "g" then a key: a project tab, found by where it leads
    c: function (a) { return a === a.parentNode.querySelector("a.tab"); },
    i: function (a) { return /\/issues$/.test(a.pathname); },
    p: function (a) { return /\/pull-requests$/.test(a.pathname); },
    m: function (a) { return /\/commits$/.test(a.pathname); },
    b: function (a) { return /\/branches$/.test(a.pathname); }
  };
  var HELP = [
    ["/", "Search (this page's search box, else projects)"],
    ["j / k", "Next / previous item of a list"],
    ["o or Enter", "Open the selected item"],
    ["g c", "Project code"], ["g i", "Issues"], ["g p", "Pull requests"],
    ["g m", "Commits"], ["g b", "Branches"],
    ["?", "This list"]
  ];
  var pendingG = 0;
  var current = -1;

  function typing(el) {
    if (!el || el === document.body) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll(ROWS), function (r) {
      return r.querySelector("a[href]") && r.offsetParent !== null;
    });
  }

  function select(step) {
    var all = rows();
    if (!all.length) { return false; }
    if (current >= 0 && all[current]) { all[current].classList.remove("kb-current"); }
    current = Math.max(0, Math.min(all.length - 1, current + step));
    var row = all[current];
    row.classList.add("kb-current");
    row.setAttribute("aria-current", "true");
    row.scrollIntoView({block: "nearest"});
    all.forEach(function (r, i) { if (i !== current) { r.removeAttribute("aria-current"); } });
    return true;
  }

  function open() {
    var row = rows()[current];
    var link = row && row.querySelector("a[href]");
    if (!link) { return false; }
    window.location.assign(link.href);
    return true;
  }

  function search() {
    var box = document.querySelector("main input[type=search]") ||
      document.getElementById("site-search-term");
    if (!box) { return false; }
    box.focus();
    box.select();
    return true;
  }

  function go(key) {
    var test = GO[key];
    if (!test) { return false; }
    var tab = Array.prototype.find.call(document.querySelectorAll("nav.tabs a.tab"), test);
    if (!tab) { return false; }
    window.location.assign(tab.href);
    return true;
  }

  function help() {
    var dialog = document.getElementById("kb-help");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "kb-help";
      dialog.setAttribute("aria-labelledby", "kb-help-title");
      var title = document.createElement("h2");
      title.id = "kb-help-title";
      title.textContent = "Keyboard shortcuts";
      var list = document.createElement("dl");
      HELP.forEach(function (item) {
        var dt = document.createElement("dt");
        var kbd = document.createElement("kbd");
        kbd.textContent = item[0];
        dt.appendChild(kbd);
        var dd = document.createElement("dd");
        dd.textContent = item[1];
        list.appendChild(dt);
        list.appendChild(dd);
      });
      var close = document.createElement("button");
      close.type = "button";
      close.className = "btn";
      close.textContent = "Close";
      close.addEventListener("click", function () { dialog.close(); });
      dialog.appendChild(title);
      dialog.appendChild(list);
      dialog.appendChild(close);
      document.body.appendChild(dialog);
    }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.defaultPrevented || typing(ev.target)) {
      return;
    }
    var key = ev.key;
    var done = false;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      done = go(key);
    } else if (key === "g") {
      pendingG = Date.now();
      done = true;
    } else if (key === "/") {
      done = search();
    } else if (key === "j") {
      done = select(1);
    } else if (key === "k") {
      done = select(-1);
    } else if ((key === "o" || key === "Enter") && current >= 0) {
      done = open();
    } else if (key === "?") {
      done = help();
    }
    if (done) { ev.preventDefault(); }
  });
})();
