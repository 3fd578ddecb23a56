// The phone menu (templates/base.html): a checkbox and its label open it without
// JavaScript (Space). This adds what people expect of a menu button: Enter opens and
// closes it, Escape closes it and returns focus to the button.
(function () {
  "use strict";
  var toggle = document.getElementById("menu-toggle");
  if (!toggle) { return; }
  toggle.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      toggle.checked = !toggle.checked;
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && toggle.checked) {
      toggle.checked = false;
      toggle.focus();
    }
  });
})();
