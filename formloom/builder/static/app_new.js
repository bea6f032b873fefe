// The new-app page: choosing a template's card proposes its next free app key and its name,
// and offers only the languages it ships; choosing the blank app clears what was proposed.
(function () {
  "use strict";
  var form = document.querySelector(".fl-new-app");
  if (!form) return;
  var gallery = form.querySelector(".fl-gallery");
  var key = form.querySelector("#key"), name = form.querySelector("#name"), language = form.querySelector("#language");
  var names = JSON.parse(gallery.getAttribute("data-language-names") || "{}");
  var blankPlaceholder = name.getAttribute("placeholder") || "";
  var proposed = key.value;  // what the server proposed; replaced only while the user has not typed their own

  function choose(card) {
    var next = card.getAttribute("data-key") || "";
    if (key.value === "" || key.value === proposed) key.value = next;
    proposed = next;
    name.setAttribute("placeholder", card.getAttribute("data-name") || blankPlaceholder);
    var codes = (card.getAttribute("data-languages") || "zh en").split(" ");
    var current = language.value;
    language.textContent = "";
    codes.forEach(function (code) {
      var option = document.createElement("option");
      option.value = code;
      option.textContent = names[code] || code;
      language.appendChild(option);
    });
    language.value = codes.indexOf(current) >= 0 ? current : codes[0];
  }

  gallery.addEventListener("change", function (event) {
    if (event.target.name === "template") choose(event.target.closest(".fl-gallery-card"));
  });
  var checked = gallery.querySelector("input[name=template]:checked");
  if (checked && checked.value) name.setAttribute("placeholder", checked.closest(".fl-gallery-card").getAttribute("data-name"));
})();
