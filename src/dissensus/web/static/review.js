// The review form by keyboard: Alt+1..9 puts the focused field's n-th suggestion in it,
// Ctrl+Enter (or Cmd+Enter) submits and opens the next item. Clicking a suggestion fills its
// field. Without this file the form still works: suggestions are in each field's datalist.
(function () {
  "use strict";
  var form = document.getElementById("answer");
  if (!form) { return; }

  function fill(field, value) {
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.classList.add("accepted");
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button.suggest");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.target);
    if (field) { fill(field, button.dataset.value); field.focus(); }
  });

  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      var next = document.getElementById("submit-next");
      if (next) { next.click(); }
      return;
    }
    if (!event.altKey || !/^[1-9]$/.test(event.key)) { return; }
    var field = document.activeElement;
    if (!field || !field.id) { return; }
    var buttons = form.querySelectorAll('button.suggest[data-target="' + field.id + '"]');
    var choice = buttons[Number(event.key) - 1];
    if (choice) {
      event.preventDefault();
      fill(field, choice.dataset.value);
    }
  });
})();
