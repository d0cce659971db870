// Upvotes without a page reload, optional: without this script the upvote is a plain form
// that posts and comes back (docs/community.md, "Routes and forms"). With it, the same form
// is posted by fetch with its CSRF token in X-CSRF-Token and Accept: application/json; the
// answer ({"ok": true, "upvote_count": n, "is_upvoted": true}) updates the button in place.
// Any other answer (logged out, rate limited, offline) submits the form as without script,
// so the reader sees the page that says why. CSP: script-src 'self', connect-src 'self'.
(function () {
  "use strict";

  function update(form, data) {
    var button = form.querySelector("button");
    var action = form.getAttribute("action").replace(/\/(upvote|unvote)$/, data.is_upvoted ? "/unvote" : "/upvote");
    form.setAttribute("action", action);
    button.setAttribute("aria-pressed", data.is_upvoted ? "true" : "false");
    button.title = data.is_upvoted ? "Take back your upvote" : "Upvote this paper";
    // The same words as the server's _upvote.html, built as text: nothing here is parsed as HTML.
    button.textContent = "\u25b2 " + data.upvote_count + " here";
    var said = document.createElement("span");
    said.className = "visually-hidden";
    said.textContent = ": upvote" + (data.upvote_count !== 1 ? "s" : "") + " on this site" +
      (data.is_upvoted ? "; yours is one, press to take it back" : "; press to upvote");
    button.appendChild(said);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!window.fetch || !form.matches || !form.matches("form.upvote")) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;  // one vote in flight per button
    form.setAttribute("aria-busy", "true");
    var token = form.querySelector("input[name=csrf_token]");
    fetch(form.getAttribute("action"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-CSRF-Token": token ? token.value : "", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    }).then(function (data) {
      if (!data.ok) throw new Error("not ok");
      update(form, data);
      form.removeAttribute("aria-busy");
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();  // the plain form: a submit() call does not come back through this handler
    });
  });
})();
