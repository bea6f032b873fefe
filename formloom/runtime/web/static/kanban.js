/* Kanban view: drag a card to another column (SortableJS, vendored).

   [data-kanban][data-move-url]  the board; without data-move-url cards stay where they are
   [data-column][data-group]     a column and its value (JSON) that a move writes
   [data-cards]                  a column's cards; more come in by htmx as it scrolls
   [data-card][data-record][data-version]  a card; its version goes with a move (If-Match)
   [data-kanban-message]         where a refused move says why

   The server decides: the card waits in its new column while the move is posted; a move
   the server refuses puts the card back where it was and says why. Counts and totals of
   every column come back with an accepted move.
*/
(function () {
  "use strict";

  var board = document.querySelector("[data-kanban]");
  if (!board || !window.Sortable) return;
  var url = board.getAttribute("data-move-url");
  var message = document.querySelector("[data-kanban-message]");

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function say(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  function putBack(evt) {
    var from = evt.from;
    var before = from.children[evt.oldIndex] || null;
    from.insertBefore(evt.item, before);
  }

  function showColumns(columns) {
    board.querySelectorAll("[data-column]").forEach(function (col) {
      var data = columns[col.getAttribute("data-group")];
      if (!data) return;
      var count = col.querySelector("[data-count]");
      if (count) count.textContent = data.count;
      col.querySelectorAll("[data-total]").forEach(function (el, i) {
        if (i < data.totals.length) el.textContent = data.totals[i];
      });
    });
  }

  function moved(evt) {
    if (evt.from === evt.to) return;
    var card = evt.item;
    var column = evt.to.closest("[data-column]");
    var body = new FormData();
    body.append("record", card.getAttribute("data-record"));
    body.append("version", card.getAttribute("data-version"));
    body.append("to", column.getAttribute("data-group"));
    // The columns' counts come back for the rows this page shows: its search and filter.
    var shown = new URLSearchParams(window.location.search);
    ["q", "filter"].forEach(function (k) { if (shown.get(k)) body.append(k, shown.get(k)); });
    // The card goes first in its new column, as the column's first page would show it.
    evt.to.insertBefore(card, evt.to.querySelector("[data-card]"));
    card.setAttribute("aria-busy", "true");
    card.classList.add("fl-kcard-busy");
    say("");
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { Accept: "application/json", "X-CSRFToken": csrf() } })
      .then(function (r) {
        return r.json().then(function (answer) { return { ok: r.ok, answer: answer }; },
                             function () { return { ok: false, answer: {} }; });
      })
      .then(function (res) {
        card.removeAttribute("aria-busy");
        card.classList.remove("fl-kcard-busy");
        if (!res.ok) {
          putBack(evt);
          card.classList.add("fl-kcard-refused");
          say(res.answer.message || board.getAttribute("data-failed-text"));
          return;
        }
        var holder = document.createElement("div");
        holder.innerHTML = res.answer.card;
        var fresh = holder.querySelector("[data-card]");
        if (fresh) card.replaceWith(fresh);
        showColumns(res.answer.columns || {});
      })
      .catch(function () {
        card.removeAttribute("aria-busy");
        card.classList.remove("fl-kcard-busy");
        putBack(evt);
        say(board.getAttribute("data-failed-text"));
      });
  }

  board.querySelectorAll("[data-cards]").forEach(function (list) {
    window.Sortable.create(list, {
      group: "kanban",
      sort: false,            // a column keeps the view's order; a move changes the column only
      disabled: !url,
      draggable: "[data-card]",
      filter: "[data-more]",
      preventOnFilter: false,
      fallbackTolerance: 4,  // a click on the card's title still opens the record
      animation: 150,
      forceFallback: true,   // pointer events, the same on mouse and touch (and under test)
      fallbackOnBody: true,
      ghostClass: "fl-kcard-ghost",
      onStart: function () { say(""); board.querySelectorAll(".fl-kcard-refused").forEach(function (c) { c.classList.remove("fl-kcard-refused"); }); },
      onEnd: moved
    });
  });
})();
