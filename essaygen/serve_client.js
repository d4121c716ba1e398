// Live reload for `python build.py serve`. The dev server adds this script to
// every HTML page it serves; it is never written into the built site.
//
// The server sends a "build" event after every build attempt:
//   {ok: true,  site: TOKEN}          a good build; reload if TOKEN is not this page's
//   {ok: false, site: TOKEN, errors}  a failed build; show the errors over the page
// The page keeps its scroll position across reloads.
(function () {
  "use strict";

  const script = document.currentScript;
  const pageSite = script.dataset.site;
  const eventsUrl = script.dataset.events;
  const SCROLL_KEY = "essaygen-serve-scroll";
  const OVERLAY_ID = "essaygen-serve-errors";

  function restoreScroll() {
    const saved = sessionStorage.getItem(SCROLL_KEY);
    if (saved === null) {
      return;
    }
    sessionStorage.removeItem(SCROLL_KEY);
    window.scrollTo(0, Number(saved));
  }

  function reload() {
    sessionStorage.setItem(SCROLL_KEY, String(window.scrollY));
    window.location.reload();
  }

  function hideErrors() {
    const overlay = document.getElementById(OVERLAY_ID);
    if (overlay) {
      overlay.remove();
    }
  }

  // Styles are set through the CSSOM, which a Content-Security-Policy without
  // 'unsafe-inline' still allows, and marked important so the essay's own
  // stylesheet cannot restyle the overlay. Text goes in with textContent, never as HTML.
  function style(element, properties) {
    Object.keys(properties).forEach(function (name) {
      element.style.setProperty(name, properties[name], "important");
    });
  }

  function errorText(error) {
    let where = "";
    if (error.file) {
      where = error.file + (error.line ? ":" + error.line : "") + ": ";
    }
    const hint = error.hint ? "\n  hint: " + error.hint : "";
    return where + error.message + hint;
  }

  function showErrors(errors) {
    hideErrors();
    const overlay = document.createElement("div");
    overlay.id = OVERLAY_ID;
    overlay.setAttribute("role", "alert");
    style(overlay, {
      "position": "fixed", "inset": "0", "z-index": "2147483647", "overflow": "auto",
      "margin": "0", "padding": "2rem", "background": "rgb(24, 24, 28)", "color": "rgb(240, 240, 240)",
      "font": "15px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", "text-align": "left",
    });

    const title = document.createElement("p");
    title.textContent = "Build failed: the page shows the last good build";
    style(title, { "color": "rgb(255, 138, 128)", "font": "bold 18px/1.4 system-ui, sans-serif", "margin": "0 0 1rem" });
    overlay.appendChild(title);

    errors.forEach(function (error) {
      const item = document.createElement("pre");
      style(item, {
        "white-space": "pre-wrap", "margin": "0 0 1rem", "padding": "0", "border": "0",
        "background": "none", "color": "inherit", "font": "inherit",
      });
      item.textContent = errorText(error);
      overlay.appendChild(item);
    });

    const footer = document.createElement("p");
    footer.textContent = "Fix the file and save: this page reloads after the next good build.";
    style(footer, { "color": "rgb(190, 190, 190)", "margin": "0 0 1rem" });
    overlay.appendChild(footer);

    const hide = document.createElement("button");
    hide.type = "button";
    hide.textContent = "Hide and show the last good build";
    style(hide, { "font": "inherit", "padding": "0.3rem 0.8rem", "cursor": "pointer" });
    hide.addEventListener("click", hideErrors);
    overlay.appendChild(hide);
    document.body.appendChild(overlay);
  }

  function onBuild(event) {
    const state = JSON.parse(event.data);
    if (!state.ok) {
      showErrors(state.errors);
    } else if (state.site !== pageSite) {
      reload();
    } else {
      hideErrors();
    }
  }

  if (document.readyState === "complete") {
    restoreScroll();
  } else {
    window.addEventListener("load", restoreScroll);
  }
  // EventSource reconnects on its own, which also covers a server restart.
  const source = new EventSource(eventsUrl);
  source.addEventListener("build", onBuild);
  // Lets tests and curious authors see that the page is listening.
  source.addEventListener("open", function () {
    document.documentElement.dataset.liveReload = "connected";
  });
})();
