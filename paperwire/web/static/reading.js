// paperwire's one script, optional: every page works without it. It adds keyboard
// shortcuts (j / k: next / previous paper, /: search) and the BibTeX copy button.
// Served from /static under the CSP "script-src 'self'"; no inline script anywhere.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // Move focus to the title link of the next (step 1) or previous (step -1) paper card.
  function move(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("article.paper .title a"));
    if (!links.length) return;
    var index = links.indexOf(document.activeElement);
    if (index === -1) {
      // From wherever the reader is: the first card below the top of the screen.
      index = step > 0 ? -1 : links.length;
      for (var i = 0; i < links.length; i++) {
        if (links[i].getBoundingClientRect().top > 0) { index = step > 0 ? i - 1 : i; break; }
      }
    }
    var next = links[Math.min(Math.max(index + step, 0), links.length - 1)];
    next.focus();
    next.closest("article").scrollIntoView({ block: "start" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "j" || event.key === "k") {
      move(event.key === "j" ? 1 : -1);
      event.preventDefault();
    } else if (event.key === "/") {
      var box = document.getElementById("q") || document.getElementById("site-search-q");
      if (box) { box.focus(); box.select(); event.preventDefault(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
        } else {
          source.select();  // http on another host has no clipboard API: select for Ctrl+C
          button.textContent = "Selected: press Ctrl+C";
        }
      });
    });
  });
})();
