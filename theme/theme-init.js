// Runs in <head> before the first paint, so the page never flashes the wrong theme.
// It marks the page as scripted, because the CSS shows the toggles only then.
// It applies a theme the reader chose earlier. Without a saved choice the CSS
// follows prefers-color-scheme. Storage can throw (privacy modes, file://), so it is guarded.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var saved = window.localStorage.getItem("essay-theme");
    if (saved === "light" || saved === "dark") {
      root.setAttribute("data-theme", saved);
    }
  } catch (error) {
    // No storage: keep following the system setting.
  }
})();
