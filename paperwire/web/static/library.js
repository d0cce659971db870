// Save, unsave and "not interested" without a page reload. Each is a plain form that
// works without this script (it posts and comes back); with it, the same form is sent
// by fetch with Accept: application/json, and the answer redraws the button
// (docs/library.md, "Routes"). The CSRF token goes in the X-CSRF-Token header.
"use strict";

(function () {
  function csrfToken(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function showSaved(form, answer) {
    var button = form.querySelector("button");
    var label = button.querySelector(".label");
    var isSaved = answer.is_saved;
    form.action = form.action.replace(/\/(save|unsave)$/, isSaved ? "/unsave" : "/save");
    button.setAttribute("aria-pressed", isSaved ? "true" : "false");
    button.title = isSaved ? "In your library; press to remove it" : "Save to your library";
    if (label) label.textContent = isSaved ? "Saved" : "Save";
  }

  function showDismissed(form) {
    var item = form.closest("li");
    if (item) item.hidden = true;
  }

  function send(form, redraw) {
    var button = form.querySelector("button");
    button.disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken(form) },
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    }).then(function (answer) {
      button.disabled = false;
      redraw(form, answer);
    }).catch(function () {
      form.submit();  // the plain post shows the error page, as without a script
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form.save")) {
      event.preventDefault();
      send(form, showSaved);
    } else if (form.matches("form.dismiss")) {
      event.preventDefault();
      send(form, showDismissed);
    }
  });
})();
