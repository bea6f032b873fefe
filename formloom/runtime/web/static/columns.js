/* The "Columns" panel of record lists and table views ([data-column-chooser]): the up and
   down buttons move a field in the list, so the form posts the ticked fields in that order.
   Without this script the panel still works (ticks only, in the order shown). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-column-chooser] [data-move]");
    if (!button) return;
    var item = button.closest("[data-column]");
    if (button.getAttribute("data-move") === "up") {
      var before = item.previousElementSibling;
      if (before && before.hasAttribute("data-column")) item.parentNode.insertBefore(item, before);
    } else {
      var after = item.nextElementSibling;
      if (after) item.parentNode.insertBefore(after, item);
    }
    button.focus();
  });
})();
