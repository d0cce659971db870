// The subscribe box and the digest settings: the browser's time zone (an IANA name from
// Intl.DateTimeFormat) goes in the hidden field, so the digest comes at the reader's hour.
// Without JavaScript the field stays UTC, which the settings page can change.
"use strict";
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll("input[data-timezone]").forEach(function (field) {
    field.value = zone;
  });
})();
