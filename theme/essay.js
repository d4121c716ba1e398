// Loads BokehJS only when a figure is about to scroll into view (or the browser
// is idle), then embeds each figure's serialised Bokeh item into its slot.
// Everything the essay says is already in the HTML; this script adds the plots.
(function () {
  "use strict";

  const IDLE_TIMEOUT_MS = 4000;
  const LOOKAHEAD = "600px 0px";

  let bokehLoaded = null;

  function bundleUrls() {
    const element = document.getElementById("bokeh-bundles");
    return element ? JSON.parse(element.textContent) : [];
  }

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = url;
      script.async = false;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("failed to load " + url)); };
      document.head.appendChild(script);
    });
  }

  // Bundles must run in order: widgets extend the core bundle.
  function loadBokeh() {
    if (!bokehLoaded) {
      bokehLoaded = bundleUrls().reduce(function (chain, url) {
        return chain.then(function () { return loadScript(url); });
      }, Promise.resolve());
    }
    return bokehLoaded;
  }

  function embedFigure(item) {
    if (item.dataset.state) {
      return item.embedded;
    }
    item.dataset.state = "loading";
    item.embedded = loadBokeh().then(function () {
      const target = item.dataset.target;
      return window.Bokeh.embed.embed_item(JSON.parse(item.textContent), target);
    }).then(function () {
      item.dataset.state = "ready";
      const figure = item.closest("figure");
      if (figure) {
        figure.classList.add("is-interactive");
        figure.dispatchEvent(new CustomEvent("essay:figure-ready", { bubbles: true }));
      }
    });
    return item.embedded;
  }

  function start() {
    const items = Array.prototype.slice.call(document.querySelectorAll("script.bokeh-item"));
    document.documentElement.classList.add("js");
    const embedAll = function () { return Promise.all(items.map(embedFigure)); };
    window.essay = { embedAll: embedAll, loadBokeh: loadBokeh };
    if (!items.length) {
      return;
    }
    if ("IntersectionObserver" in window) {
      const observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            const item = entry.target.parentNode.querySelector("script.bokeh-item");
            embedFigure(item);
          }
        });
      }, { rootMargin: LOOKAHEAD });
      items.forEach(function (item) {
        observer.observe(document.getElementById(item.dataset.target));
      });
    }
    const idle = window.requestIdleCallback || function (callback) { return setTimeout(callback, 200); };
    idle(embedAll, { timeout: IDLE_TIMEOUT_MS });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
