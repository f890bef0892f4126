// Boards: drag and drop of cards between and within columns, posting to the
// board's move endpoint (the per-card "Move" form does the same without JS).
// Settings pages: keep each colour text field and its picker in step.
(function () {
  "use strict";

  // -- colours --------------------------------------------------------------
  var probe = document.createElement("canvas").getContext("2d");
  function toHex(value) {
    if (!probe || !value) { return null; }
    probe.fillStyle = "#000000";
    probe.fillStyle = value;
    var out = probe.fillStyle;
    return /^#[0-9a-f]{6}$/i.test(out) ? out : null;
  }
  document.querySelectorAll("[data-color-pair]").forEach(function (pair) {
    var text = pair.querySelector("input.color-text");
    var pick = pair.querySelector("input[type=color]");
    var pickOrig = pair.querySelector("input[data-pick-orig]");
    if (!text || !pick) { return; }
    var shown = toHex(text.value.trim());
    if (shown) {
      pick.value = shown;
      if (pickOrig) { pickOrig.value = shown; }  // a colour name is not a change
    }
    text.addEventListener("input", function () {
      var hex = toHex(text.value.trim());
      if (hex) { pick.value = hex; }
    });
    pick.addEventListener("input", function () { text.value = pick.value; });
  });

  // -- drag and drop ----------------------------------------------------------
  var board = document.querySelector(".board[data-move-url]");
  if (!board || !window.fetch || !window.FormData) { return; }
  var url = board.getAttribute("data-move-url");
  var token = board.getAttribute("data-csrf");
  var live = document.getElementById("board-live");
  var errorBox = document.getElementById("board-error");
  var dragged = null, origin = null, originNext = null, dropped = false;

  function say(text) { if (live) { live.textContent = text; } }
  function fail(text) {
    if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; }
    say(text);
  }
  function recount() {
    board.querySelectorAll(".board-col").forEach(function (col) {
      var count = col.querySelector(".board-count");
      if (count) { count.textContent = col.querySelectorAll(".board-card").length; }
    });
  }
  function cardAfter(list, y) {
    var cards = list.querySelectorAll(".board-card:not(.dragging)");
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) { return cards[i]; }
    }
    return null;
  }
  function putBack(card) {
    if (origin) { origin.insertBefore(card, originNext); }
    recount();
  }
  function send(card, list) {
    var position = Array.prototype.indexOf.call(list.querySelectorAll(".board-card"), card);
    var status = list.getAttribute("data-status");
    var body = new FormData();
    body.append("issue", card.getAttribute("data-issue"));
    body.append("status", status);
    body.append("position", String(position));
    var from = origin, fromNext = originNext;
    fetch(url, {method: "POST", body: body, credentials: "same-origin",
                headers: {"X-CSRFToken": token, "Accept": "application/json"}})
      .then(function (resp) {
        return resp.json().then(function (data) { return {ok: resp.ok && data.ok, data: data}; });
      })
      .then(function (res) {
        if (!res.ok) {
          origin = from; originNext = fromNext; putBack(card);
          fail(res.data.error || "The move was refused.");
          return;
        }
        if (errorBox) { errorBox.hidden = true; }
        var select = card.querySelector("select[name=status]");
        if (select) { select.value = status; }
        var closed = card.querySelector("[data-closed]");
        if (closed && res.data.issue_status) { closed.hidden = res.data.issue_status !== "Closed"; }
        say(res.data.message || "Moved");
      })
      .catch(function () {
        origin = from; originNext = fromNext; putBack(card);
        fail("The move could not be saved; try again.");
      });
  }

  board.querySelectorAll(".board-card[draggable=true]").forEach(function (card) {
    card.addEventListener("dragstart", function (ev) {
      dragged = card;
      dropped = false;
      origin = card.parentNode;
      originNext = card.nextSibling;
      card.classList.add("dragging");
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", card.getAttribute("data-issue"));
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      if (!dropped) { putBack(card); }  // let go outside the columns
      board.querySelectorAll(".drop-target").forEach(function (el) {
        el.classList.remove("drop-target");
      });
      dragged = null;
    });
  });
  board.querySelectorAll(".board-cards").forEach(function (list) {
    list.addEventListener("dragover", function (ev) {
      if (!dragged) { return; }
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "move";
      list.classList.add("drop-target");
      var after = cardAfter(list, ev.clientY);
      if (after) { list.insertBefore(dragged, after); } else { list.appendChild(dragged); }
    });
    list.addEventListener("dragleave", function (ev) {
      if (!list.contains(ev.relatedTarget)) { list.classList.remove("drop-target"); }
    });
    list.addEventListener("drop", function (ev) {
      ev.preventDefault();
      list.classList.remove("drop-target");
      if (!dragged) { return; }
      dropped = true;
      var card = dragged;
      recount();
      send(card, list);
    });
  });
})();
