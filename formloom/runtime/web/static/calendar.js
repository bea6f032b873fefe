/* Calendar view: drag a record to another day of the month grid (SortableJS, vendored).

   [data-calendar-month][data-move-url]  the grid; its [data-drop] lists are the days
   [data-entry][data-record][data-version]  a record's first day (a span's later days stay)
   [data-calendar-message]  where a refused move says why

   The server decides: an accepted move reloads the month (spans and counts follow); a
   refused one puts the entry back and says why.
*/
(function () {
  "use strict";

  var grid = document.querySelector("[data-calendar-month][data-move-url]");
  if (!grid || !window.Sortable) return;
  var message = document.querySelector("[data-calendar-message]");

  function say(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  function putBack(evt) {
    evt.from.insertBefore(evt.item, evt.from.children[evt.oldIndex] || null);
  }

  function moved(evt) {
    if (evt.from === evt.to) return;
    var entry = evt.item;
    var body = new FormData();
    body.append("record", entry.getAttribute("data-record"));
    body.append("version", entry.getAttribute("data-version"));
    body.append("day", evt.to.getAttribute("data-drop"));
    var meta = document.querySelector('meta[name="csrf-token"]');
    entry.setAttribute("aria-busy", "true");
    say("");
    fetch(grid.getAttribute("data-move-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": meta ? meta.content : "" }
    })
      .then(function (r) {
        return r.json().then(function (a) { return { ok: r.ok, answer: a }; }, function () { return { ok: false, answer: {} }; });
      })
      .then(function (res) {
        entry.removeAttribute("aria-busy");
        if (res.ok) { window.location.reload(); return; }
        putBack(evt);
        say(res.answer.message || grid.getAttribute("data-failed-text"));
      })
      .catch(function () {
        entry.removeAttribute("aria-busy");
        putBack(evt);
        say(grid.getAttribute("data-failed-text"));
      });
  }

  grid.querySelectorAll("[data-drop]").forEach(function (list) {
    window.Sortable.create(list, {
      group: "calendar",
      sort: false,
      draggable: "[data-entry][data-record]",
      forceFallback: true,
      fallbackOnBody: true,
      fallbackTolerance: 4,
      animation: 120,
      ghostClass: "fl-kcard-ghost",
      onStart: function () { say(""); },
      onEnd: moved
    });
  });
})();
