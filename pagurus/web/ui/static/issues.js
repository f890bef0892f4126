// Issue pages: markdown preview in place, quick replies, file uploads by
// drag and drop or the file field, template loading and reactions without
// a page reload. Each of these also works without this file, through the
// plain forms (preview=1, quick_reply, filestream, ?template=, react).
(function () {
  "use strict";

  function csrfOf(el) {
    var form = el.closest ? el.closest("form") : null;
    var input = (form && form.querySelector("input[name=csrf_token]")) ||
      document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function post(url, body, token) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"}
    });
  }

  // -- preview ---------------------------------------------------------------
  function setupEditor(box) {
    var area = box.querySelector("textarea.md-input");
    var button = box.querySelector(".md-preview-btn");
    var out = box.querySelector(".md-preview");
    if (!area || !button || !out) { return; }
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      if (!out.hidden && button.dataset.shown === "1") {
        out.hidden = true;
        button.dataset.shown = "0";
        button.textContent = "Preview";
        return;
      }
      var body = new FormData();
      body.append("content", area.value);
      body.append("project", box.dataset.project || "");
      button.disabled = true;
      post("/pv/markdown/preview", body, csrfOf(box)).then(function (resp) {
        return resp.text().then(function (text) { return {ok: resp.ok, text: text}; });
      }).then(function (res) {
        if (res.ok) {
          // sanitized by the server's renderer; the page's CSP runs no inline script
          out.innerHTML = res.text;
        } else {
          out.textContent = "The preview failed: " + res.text;
        }
        out.hidden = false;
        button.dataset.shown = "1";
        button.textContent = "Hide preview";
      }).catch(function () {
        out.textContent = "The preview failed (network error).";
        out.hidden = false;
      }).then(function () { button.disabled = false; });
    });
  }

  // -- quick replies -----------------------------------------------------------
  function setupQuickReply(select) {
    var area = document.getElementById(select.dataset.target || "");
    if (!area) { return; }
    function sync() { select.disabled = area.value.trim() !== ""; }
    select.addEventListener("change", function () {
      var opt = select.options[select.selectedIndex];
      if (!opt || !opt.value || area.value.trim() !== "") { return; }
      area.value = opt.dataset.text || "";
      select.value = "";
      sync();
      area.focus();
    });
    area.addEventListener("input", sync);
    sync();
  }

  // -- uploads -------------------------------------------------------------------
  var IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg)$/i;

  function mdText(name) { return String(name).replace(/[\\[\]()<>`*_]/g, "\\$&"); }

  function insertAtCursor(area, text) {
    var start = area.selectionStart || 0, end = area.selectionEnd || 0;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    if (before && !/\n$/.test(before)) { text = "\n" + text; }
    area.value = before + text + after;
    area.selectionStart = area.selectionEnd = before.length + text.length;
    area.dispatchEvent(new Event("input"));
  }

  function setupUploads(form) {
    var url = form.dataset.uploadUrl;
    var area = form.querySelector("textarea.md-input");
    var field = form.querySelector("input[type=file][name=filestream]");
    var status = form.querySelector(".issue-upload-status");
    if (!url || !area) { return; }
    function say(text) { if (status) { status.hidden = !text; status.textContent = text; } }
    function upload(files) {
      if (!files || !files.length) { return; }
      var body = new FormData();
      for (var i = 0; i < files.length; i++) { body.append("filestream", files[i]); }
      say("Uploading " + files.length + " file" + (files.length === 1 ? "" : "s") + "…");
      post(url, body, csrfOf(form)).then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          return {ok: resp.ok, status: resp.status, data: data};
        });
      }).then(function (res) {
        var data = res.data || {};
        if (!res.ok || data.output !== "ok") {
          say("The upload failed: " + (data.error || data.message || ("HTTP " + res.status)));
          return;
        }
        var lines = [];
        (data.filenames || []).forEach(function (name, i) {
          var loc = (data.filelocations || [])[i];
          if (!loc) { return; }
          var label = mdText(name);
          lines.push(IMAGE.test(name) ? "[![" + label + "](" + loc + ")](" + loc + ")"
                                      : "[" + label + "](" + loc + ")");
        });
        insertAtCursor(area, lines.join("\n") + "\n");
        say("Uploaded: " + (data.filenames || []).join(", "));
      }).catch(function () { say("The upload failed (network error)."); });
    }
    area.addEventListener("dragover", function (ev) {
      if (ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, "Files") >= 0) {
        ev.preventDefault();
        area.classList.add("issue-dragover");
      }
    });
    area.addEventListener("dragleave", function () { area.classList.remove("issue-dragover"); });
    area.addEventListener("drop", function (ev) {
      area.classList.remove("issue-dragover");
      if (ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files.length) {
        ev.preventDefault();
        upload(ev.dataTransfer.files);
      }
    });
    if (field) {
      field.addEventListener("change", function () {
        var files = field.files;
        upload(files);
        field.value = "";  // sent once, by the upload above
      });
    }
  }

  // -- templates on the new-issue page -----------------------------------------
  function setupTemplates(form) {
    var select = form.querySelector("select[name=template]");
    var area = document.getElementById("f-issue_content");
    var status = form.querySelector(".issue-template-status");
    var token = document.querySelector(".issue-new-form input[name=csrf_token]");
    if (!select || !area || !token) { return; }
    var loaded = area.value;
    function load(ev) {
      if (ev) { ev.preventDefault(); }
      if (area.value.trim() !== "" && area.value !== loaded) {
        status.textContent = "Empty the description first: it was changed since the template was loaded.";
        return;
      }
      var body = new FormData();
      body.append("template", select.value);
      post(form.dataset.templateUrl, body, token.value).then(function (resp) {
        return resp.json();
      }).then(function (data) {
        if (data.code !== "OK") { status.textContent = data.message || "No such template"; return; }
        area.value = loaded = data.message;
        status.textContent = "Template " + select.value + " loaded.";
      }).catch(function () { status.textContent = "The template could not be loaded."; });
    }
    select.addEventListener("change", load);
    form.addEventListener("submit", load);
  }

  // -- reactions -------------------------------------------------------------------
  // One form per comment, one button per reaction: name="reaction" gives it,
  // name="unreact" takes it back; the server answers "ok" to ?js=1.
  function setupReactions(form) {
    form.addEventListener("submit", function (ev) {
      var button = ev.submitter;
      if (!button || !button.name) { return; }
      ev.preventDefault();
      var body = new FormData(form);
      body.append(button.name, button.value);
      var count = button.querySelector(".issue-react-count");
      button.disabled = true;
      post(form.action + "?js=1", body, csrfOf(form)).then(function (resp) {
        return resp.text();
      }).then(function (text) {
        if (text !== "ok") { button.title = text.replace(/^notok: /, ""); return; }
        var n = parseInt(count.textContent, 10) || 0;
        var given = button.name === "reaction";
        count.textContent = String(Math.max(0, n + (given ? 1 : -1)));
        button.name = given ? "unreact" : "reaction";
        button.classList.toggle("mine", given);
        button.setAttribute("aria-pressed", given ? "true" : "false");
      }).catch(function () {
        button.title = "The reaction could not be sent (network error).";
      }).then(function () { button.disabled = false; });
    });
  }

  function init() {
    document.querySelectorAll(".md-editor").forEach(setupEditor);
    document.querySelectorAll("select.quick-reply").forEach(setupQuickReply);
    document.querySelectorAll("form.issue-comment-form").forEach(setupUploads);
    document.querySelectorAll("form.issue-template-form").forEach(setupTemplates);
    document.querySelectorAll("form.issue-react").forEach(setupReactions);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
