// Image fields carry the instance's upload limit (data-max-bytes) and the message to show
// (data-too-large). A file over the limit is refused right on the form before anything is
// sent, so a slow phone connection never uploads 30 MB to be told no. Without JavaScript
// the server refuses it and shows the same form again with the message (fedi/domain/media.py).
(function () {
  "use strict";
  function check(input) {
    var limit = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    var file = input.files && input.files[0];
    if (limit > 0 && file && file.size > limit) {
      input.setCustomValidity(input.getAttribute("data-too-large") || "Too large");
      input.reportValidity();
    } else {
      input.setCustomValidity("");
    }
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.matches && input.matches("input[type=file][data-max-bytes]")) {
      check(input);
    }
  });
})();
