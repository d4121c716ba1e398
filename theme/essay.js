// Reader features of the essay page.
//
// - Downloads BokehJS when the browser is idle and runs it only when a figure
//   is about to scroll into view, then embeds each figure's serialised Bokeh item.
// - Highlights the current section in the table of contents, and opens the
//   contents as a panel on narrow screens.
// - Switches between light and dark themes, remembers the choice, and recolours
//   the Bokeh plots without a reload (theme-init.js applies a saved choice
//   before the first paint).
// - Gives Bokeh's controls accessible names, theme-aware styles and touch-sized
//   targets, and takes Bokeh's tab stops that do nothing out of the tab order.
// - Opens a shared link at its figure and loads that figure first; "copy a
//   link" buttons copy a link to a figure in its current state.
//
// The whole text of the essay is in the HTML, and this script adds the plots.
(function () {
  "use strict";

  // A host page that swaps content without a full reload may run this file
  // again. The first copy then keeps its state and only looks for new figures.
  if (window.essay && window.essay.init) {
    window.essay.init(document);
    return;
  }

  const IDLE_TIMEOUT_MS = 4000;
  const LOOKAHEAD = "600px 0px";
  const THEME_KEY = "essay-theme";

  let bokehLoaded = null;

  // ---- Loading and embedding ------------------------------------------------

  function bundleUrls() {
    const element = document.getElementById("bokeh-bundles");
    return element ? JSON.parse(element.textContent) : [];
  }

  const scriptsByUrl = {};

  // Ordered scripts run in the order they were added; the others as they arrive.
  // Each URL loads once.
  function loadScript(url, ordered) {
    if (scriptsByUrl[url]) {
      return scriptsByUrl[url];
    }
    return (scriptsByUrl[url] = new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = url;
      script.async = !ordered;
      script.onload = resolve;
      script.onerror = function () {
        delete scriptsByUrl[url];
        reject(new Error("failed to load " + url));
      };
      document.head.appendChild(script);
    }));
  }

  // Bundles must run in order, because widgets extend the core bundle. Ordered
  // scripts still download in parallel.
  function loadBokeh() {
    if (!bokehLoaded) {
      // In a host page the bundle list arrives with the first essay content,
      // which may come after this script ran.
      if (!bundleUrls().length) {
        return Promise.reject(new Error("essay: no #bokeh-bundles element in the page"));
      }
      bokehLoaded = Promise.all(bundleUrls().map(function (url) { return loadScript(url, true); }));
    }
    return bokehLoaded;
  }

  // A figure's serialised Bokeh item is either inline JSON or, in a built site,
  // in a script (data-src, one for all figures) that stores each item in
  // window.essayItems under its figure's root id. It downloads while BokehJS does.
  function loadItem(item) {
    const url = item.dataset.src;
    if (!url) {
      return Promise.resolve(JSON.parse(item.textContent));
    }
    return loadScript(url, false).then(function () {
      const data = window.essayItems && window.essayItems[item.dataset.target];
      if (!data) {
        throw new Error("essay: figure " + item.dataset.target + " is missing from " + url);
      }
      return data;
    });
  }

  function embedFigure(item) {
    if (item.dataset.state) {
      return item.embedded;
    }
    item.dataset.state = "loading";
    rememberHostShadowElements();
    item.embedded = Promise.all([loadItem(item), loadBokeh()]).then(function (loaded) {
      return window.Bokeh.embed.embed_item(loaded[0], embedTarget(item));
    }).then(function (views) {
      guardBokehOverlays();
      const figure = item.closest("figure");
      if (figure) {
        enhanceFigure(figure, views || []);
      }
      item.dataset.state = "ready";
      makeScrollersFocusable();
      if (figure) {
        figure.classList.add("is-interactive");
        figure.dispatchEvent(new CustomEvent("essay:figure-ready", { bubbles: true }));
      }
    });
    return item.embedded;
  }

  // Inside an embedded fragment ([data-essay-isolate]) the host page's CSS
  // reaches every light-DOM element, so each Bokeh root goes into a shadow root
  // of its own. Text properties still inherit from the .figure-root, which the
  // fragment's stylesheet controls.
  const ISOLATION_CSS = ":host { display: block; } .essay-isolated { display: block; width: 100%; }";
  // BokehJS also appends fixed-position containers (notifications, tooltips)
  // to <body>, outside the fragment. Important :host rules inside their shadow
  // roots win over the host page's element rules, even important ones.
  const OVERLAY_CSS = ":host { margin: 0 !important; padding: 0 !important; border: 0 !important; " +
    "background: none !important; box-shadow: none !important; outline: none !important; " +
    "letter-spacing: normal !important; word-spacing: normal !important; " +
    "text-transform: none !important; text-indent: 0 !important; }";
  let overlaySheet = null;
  let hostShadowElements = null;

  // Shadow-root <div>s that the host page had before BokehJS loaded are its own; leave them alone.
  function rememberHostShadowElements() {
    if (!hostShadowElements && document.body) {
      hostShadowElements = new Set(Array.prototype.filter.call(document.body.children, function (element) {
        return element.shadowRoot;
      }));
    }
  }

  function guardBokehOverlays() {
    if (!document.body || !document.querySelector("[data-essay-isolate]") || !("adoptedStyleSheets" in Document.prototype)) {
      return;
    }
    if (!overlaySheet) {
      overlaySheet = new CSSStyleSheet();
      overlaySheet.replaceSync(OVERLAY_CSS);
    }
    Array.prototype.forEach.call(document.body.children, function (element) {
      const shadow = element.shadowRoot;
      if (element.tagName === "DIV" && shadow && !hostShadowElements.has(element) &&
          !shadow.adoptedStyleSheets.includes(overlaySheet)) {
        shadow.adoptedStyleSheets = shadow.adoptedStyleSheets.concat([overlaySheet]);
      }
    });
  }

  let isolationSheet = null;

  function embedTarget(item) {
    const slot = document.getElementById(item.dataset.target);
    if (!slot || !item.closest("[data-essay-isolate]") || !("adoptedStyleSheets" in Document.prototype)) {
      return item.dataset.target;
    }
    const shadow = slot.shadowRoot || slot.attachShadow({ mode: "open" });
    if (!isolationSheet) {
      isolationSheet = new CSSStyleSheet();
      isolationSheet.replaceSync(ISOLATION_CSS);
    }
    shadow.adoptedStyleSheets = [isolationSheet];
    const inner = document.createElement("div");
    inner.className = "essay-isolated";
    shadow.replaceChildren(inner);
    return inner;
  }

  function figureItem(figure) {
    return figure ? figure.querySelector("script.bokeh-item") : null;
  }

  // ---- Bokeh views and models -------------------------------------------------

  function* walkViews(view) {
    yield view;
    for (const child of view.child_views || []) {
      yield* walkViews(child);
    }
  }

  function allModels() {
    const models = [];
    for (const document_ of (window.Bokeh && window.Bokeh.documents) || []) {
      for (const model of document_.all_models) {
        models.push(model);
      }
    }
    return models;
  }

  function controlKind(model) {
    switch (model.type) {
      case "Slider":
      case "Spinner":
      case "NumericInput":
        return "number";
      case "RangeSlider":
        return "range";
      case "Select":
        return "select";
      case "RadioButtonGroup":
      case "RadioGroup":
      case "Tabs":
        return "index";
      case "CheckboxGroup":
      case "CheckboxButtonGroup":
        return "indices";
      case "Toggle":
      case "Switch":
        return "flag";
      default:
        return null;
    }
  }

  // ---- Accessibility and styles inside Bokeh's shadow roots ---------------------

  // Bokeh's widgets read these custom properties on their shadow hosts. Here they
  // point at the page's theme properties, which inherit into shadow trees, so the
  // widgets follow the theme without further work.
  const SHADOW_CSS = `
:host {
  --color: var(--text);
  --background-color: var(--control);
  --hover-color: var(--surface);
  --border-color: var(--control-border);
  --divider-color: var(--rule);
  --highlight-color: var(--accent);
  --active-bg: var(--accent-soft);
  --active-border: var(--accent);
  --active-fg: var(--text);
  --inactive-bg: var(--control);
  --inactive-fg: var(--muted);
  --disabled-color: var(--muted);
  --placeholder-color: var(--muted);
  --surface-background-color: var(--surface);
  --icon-color: var(--muted);
  --input-focus-border-color: var(--focus);
  --input-focus-halo-color: transparent;
  --inverted-color: var(--paper);
  --slider-size: 8px;
  --handle-width: 28px;
  --handle-height: 28px;
}
:host(.bk-Figure), :host(.bk-Column), :host(.bk-Row), :host(.bk-GridBox) { --background-color: transparent; }
.bk-input, select.bk-input, .bk-btn { min-height: 44px; font-size: var(--font-size); }
/* Long button labels wrap on phones instead of pushing the page sideways. */
.bk-btn { white-space: normal; overflow-wrap: anywhere; line-height: 1.25; }
.bk-btn-default { color: var(--text); background-color: var(--control); border-color: var(--control-border); }
.bk-btn-default.bk-active { background-color: var(--accent-soft); border-color: var(--accent); font-weight: 600; }
.bk-btn-default:hover { background-color: var(--surface); }
.bk-btn-default.bk-active:hover { background-color: var(--accent-soft); }
.bk-input:focus, .bk-btn:focus { box-shadow: none; }
.bk-input:focus-visible, .bk-btn:focus-visible, .noUi-handle:focus-visible, [tabindex="0"]:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}
.noUi-target { background: var(--surface); border-color: var(--control-border); box-shadow: none; }
.noUi-horizontal { margin-top: 16px; margin-bottom: 16px; }
.noUi-handle { background: var(--control); border: 2px solid var(--accent); border-radius: 50%; box-shadow: none; cursor: grab; touch-action: none; }
.noUi-handle:active { cursor: grabbing; }
.noUi-handle::before, .noUi-handle::after { display: none; }
/* A larger invisible touch target around the visible handle. */
.noUi-touch-area { position: absolute; inset: -10px; }
.bk-slider-title { color: var(--text); }
@media print {
  :host(.bk-Slider), :host(.bk-RangeSlider), :host(.bk-CategoricalSlider), :host(.bk-Select), :host(.bk-RadioButtonGroup),
  :host(.bk-RadioGroup), :host(.bk-CheckboxGroup), :host(.bk-CheckboxButtonGroup), :host(.bk-Button),
  :host(.bk-Toggle), :host(.bk-Switch), :host(.bk-Spinner), :host(.bk-NumericInput), :host(.bk-Dropdown) {
    display: none !important;
  }
}
@media (prefers-reduced-motion: reduce) {
  * { transition: none !important; animation: none !important; }
}
`;
  let shadowSheet = null;

  function adoptShadowStyles(root) {
    if (!root || !("adoptedStyleSheets" in root)) {
      return;
    }
    if (!shadowSheet) {
      shadowSheet = new CSSStyleSheet();
      shadowSheet.replaceSync(SHADOW_CSS);
    }
    if (!root.adoptedStyleSheets.includes(shadowSheet)) {
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([shadowSheet]);
    }
  }

  // Bokeh creates some elements later (tooltips, menus) in shadow roots of their
  // own; watching each view's shadow root styles those as they appear.
  function watchShadowRoot(root) {
    adoptShadowStyles(root);
    new MutationObserver(function (records) {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.shadowRoot) {
            adoptShadowStyles(node.shadowRoot);
          }
        }
      }
    }).observe(root, { childList: true, subtree: true });
  }

  function humanise(name) {
    const words = name.split("-").slice(1).join(" ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function controlLabel(model) {
    const title = typeof model.title === "string" ? model.title.trim() : "";
    return title || humanise(model.name || "control");
  }

  // noUiSlider gives the handle role=slider but no accessible name, and a value
  // text of bare digits; both are set from the Bokeh model here and kept in step.
  // Bokeh may replace the value element when it re-renders the title, so it is
  // looked up again on every change.
  // Write only on a change, so that the observer below does not run again for nothing.
  function setAria(element, name, value) {
    if (element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function labelSlider(view) {
    const model = view.model;
    const root = view.shadow_el;
    const label = controlLabel(model);
    const handles = Array.from(root.querySelectorAll(".noUi-handle"));
    const suffixes = handles.length === 2 ? [" (lower end)", " (upper end)"] : [""];
    handles.forEach(function (handle, index) {
      handle.setAttribute("aria-label", label + suffixes[index]);
    });
    const update = function () {
      const valueElement = root.querySelector(".bk-slider-value");
      const shown = valueElement ? valueElement.textContent.trim() : "";
      handles.forEach(function (handle) {
        // A disabled slider (Bokeh's ``disabled``) keeps noUiSlider's tab stop,
        // which does nothing. It leaves the tab order and is marked aria-disabled.
        handle.setAttribute("aria-disabled", model.disabled ? "true" : "false");
        handle.setAttribute("tabindex", model.disabled ? "-1" : "0");
        // Bokeh 3.9 leaves aria-valuemin/max as they were when a callback moves
        // the slider's start or end, and noUiSlider rounds all three values to one
        // decimal (a start of 0.05 reads as 0.1), so they are set from the model.
        if (handles.length === 1 && typeof model.start === "number" && typeof model.end === "number") {
          setAria(handle, "aria-valuemin", String(model.start));
          setAria(handle, "aria-valuemax", String(model.end));
          if (typeof model.value === "number") {
            setAria(handle, "aria-valuenow", String(model.value));
          }
        }
        const text = shown || handle.getAttribute("aria-valuenow") || "";
        if (text && handle.getAttribute("aria-valuetext") !== text) {
          handle.setAttribute("aria-valuetext", text);
        }
      });
    };
    // After a callback moves the slider's start (the low-rank figure's rank slider
    // when d changes), noUiSlider's Home key still goes to the start it was built
    // with, so Home and End set the model's value from its current start and end.
    if (handles.length === 1 && typeof model.start === "number" && typeof model.end === "number") {
      handles[0].addEventListener("keydown", function (event) {
        if ((event.key !== "Home" && event.key !== "End") || model.disabled) {
          return;
        }
        event.preventDefault();
        event.stopImmediatePropagation();
        model.value = event.key === "Home" ? model.start : model.end;
      }, true);
    }
    update();
    for (const property of [model.properties.start, model.properties.end, model.properties.value, model.properties.disabled]) {
      if (property) {
        property.change.connect(update);
      }
    }
    new MutationObserver(update).observe(root, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["aria-valuetext", "aria-valuenow"],
    });
  }

  function labelButtonGroup(view) {
    const model = view.model;
    const group = view.shadow_el.querySelector(".bk-btn-group") || view.shadow_el.firstElementChild;
    if (group && model.name) {
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", controlLabel(model));
    }
    const buttons = Array.from(view.shadow_el.querySelectorAll(".bk-btn"));
    const update = function () {
      buttons.forEach(function (button, index) {
        const active = Array.isArray(model.active) ? model.active.includes(index) : model.active === index;
        button.setAttribute("aria-pressed", active ? "true" : "false");
      });
    };
    update();
    model.properties.active.change.connect(update);
  }

  function labelInput(view) {
    const input = view.shadow_el.querySelector("select, input");
    if (input && !input.getAttribute("aria-label")) {
      input.setAttribute("aria-label", controlLabel(view.model));
    }
  }

  // Bokeh makes the plot's event layer and toolbar focusable; for a reader they
  // are stops that do nothing, so they leave the tab order.
  const DEAD_TAB_STOPS = ".bk-events[tabindex], .bk-logo, .bk-tool-icon, .bk-toolbar-button, .bk-Toolbar [tabindex]";

  // Visit every shadow root under ``element``, however deeply nested.
  function* shadowRoots(element) {
    const stack = [element];
    while (stack.length) {
      const node = stack.pop();
      if (node.shadowRoot) {
        yield node.shadowRoot;
        stack.push(node.shadowRoot);
      }
      for (const child of node.children || []) {
        stack.push(child);
      }
    }
  }

  function enhanceShadowRoot(root) {
    watchShadowRoot(root);
    root.querySelectorAll(DEAD_TAB_STOPS).forEach(function (element) {
      element.setAttribute("tabindex", "-1");
    });
  }

  // Build-time pictures (essaygen/snapshots.py) show plots without controls,
  // because a picture of a slider invites a drag that cannot work.
  const CAPTURE = document.documentElement.classList.contains("capture");

  function enhanceView(view) {
    if (CAPTURE && (controlKind(view.model) || view.model.type === "Button" || view.model.type === "Dropdown")) {
      view.el.style.display = "none";
      return;
    }
    // Slider, RangeSlider, CategoricalSlider, DateSlider…: all draw noUiSlider handles.
    if (view.shadow_el && view.shadow_el.querySelector(".noUi-handle")) {
      labelSlider(view);
      return;
    }
    switch (view.model.type) {
      case "RadioButtonGroup":
      case "CheckboxButtonGroup":
        labelButtonGroup(view);
        break;
      case "Select":
      case "Spinner":
      case "NumericInput":
      case "TextInput":
        labelInput(view);
        break;
      case "Toolbar":
        if (view.el) {
          view.el.setAttribute("hidden", "");
        }
        break;
      default:
        break;
    }
  }

  function enhanceFigure(figure, views) {
    const seen = new Set();
    for (const root of shadowRoots(figure)) {
      enhanceShadowRoot(root);
    }
    for (const root of views) {
      for (const view of walkViews(root)) {
        if (!seen.has(view)) {
          seen.add(view);
          enhanceView(view);
        }
      }
    }
    applyPlotTheme(currentTheme());
  }

  // ---- Themes ---------------------------------------------------------------

  const systemDark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function savedTheme() {
    try {
      const value = window.localStorage.getItem(THEME_KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (error) {
      return null;
    }
  }

  function currentTheme() {
    const chosen = document.documentElement.getAttribute("data-theme");
    if (chosen === "light" || chosen === "dark") {
      return chosen;
    }
    return systemDark && systemDark.matches ? "dark" : "light";
  }

  function setTheme(theme, remember) {
    document.documentElement.setAttribute("data-theme", theme);
    if (remember) {
      try {
        window.localStorage.setItem(THEME_KEY, theme);
      } catch (error) {
        // Storage unavailable: the choice lasts for this page view only.
      }
    }
    updateThemeButton();
    applyPlotTheme(theme);
  }

  function updateThemeButton() {
    const dark = currentTheme() === "dark";
    document.querySelectorAll(".theme-toggle").forEach(function (button) {
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    });
    const meta = document.querySelectorAll('meta[name="theme-color"]');
    meta.forEach(function (element) {
      element.setAttribute("content", dark ? "#15191e" : "#fbfaf7");
    });
  }

  function setUpThemeToggle() {
    document.querySelectorAll(".theme-toggle").forEach(function (button) {
      button.addEventListener("click", function () {
        setTheme(currentTheme() === "dark" ? "light" : "dark", true);
      });
    });
    if (systemDark) {
      systemDark.addEventListener("change", function () {
        if (!savedTheme()) {
          document.documentElement.removeAttribute("data-theme");
          updateThemeButton();
          applyPlotTheme(currentTheme());
        }
      });
    }
    updateThemeButton();
  }

  // ---- Plot colours -----------------------------------------------------------

  // Dark counterparts of the colours Bokeh uses by default for axes, grids, text
  // and legends, and of the series colours in essaygen/figures/_style.py. Other
  // colours are adjusted by lightness (see darkColour).
  const DARK_COLOURS = {
    "black": "#aab3bd",
    "#000000": "#e3e6ea",
    "#1d232b": "#e3e6ea",
    "#444444": "#c3cad2",
    "#e5e5e5": "#353d47",
    "#e6e6e6": "#3a4450",
    "#f1f1f1": "#1e242b",
    "white": "#15191e",
    "#ffffff": "#15191e",
    "#2f7fc1": "#6cb2ee",
    "#d1603d": "#f08a67",
    "#3a9a6b": "#5cc492",
    "#8a62c9": "#b595ec",
    "#7d8794": "#9aa4b0",
    "#e0a100": "#f2bd3a",
  };
  const DARK_PAPER = [0x15, 0x19, 0x1e];
  const originals = new WeakMap();
  let appliedTheme = "light";

  function parseColour(text) {
    const value = text.trim().toLowerCase();
    let match = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/.exec(value);
    if (match) {
      let hex = match[1];
      if (hex.length === 3) {
        hex = hex.split("").map(function (c) { return c + c; }).join("");
      }
      const alpha = match[2] ? parseInt(match[2], 16) / 255 : 1;
      return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16), alpha];
    }
    match = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(value);
    if (match) {
      let alpha = match[4] === undefined ? 1 : parseFloat(match[4]);
      if (match[4] && match[4].endsWith("%")) {
        alpha /= 100;
      }
      return [Number(match[1]), Number(match[2]), Number(match[3]), alpha];
    }
    return null;
  }

  function luminance(rgb) {
    const channel = function (c) {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  }

  function contrast(a, b) {
    const la = luminance(a);
    const lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function toHex(rgb, alpha) {
    const hex = rgb.slice(0, 3).map(function (c) {
      return Math.round(Math.max(0, Math.min(255, c))).toString(16).padStart(2, "0");
    }).join("");
    return "#" + hex + (alpha < 1 ? Math.round(alpha * 255).toString(16).padStart(2, "0") : "");
  }

  // A dark-theme version of a colour the figures did not list: near-white fills
  // become near-black, and colours too dark to read on the dark paper are mixed
  // towards white until they reach 3:1 contrast with it.
  function darkColour(text) {
    const known = DARK_COLOURS[text.trim().toLowerCase()];
    if (known) {
      return known;
    }
    const rgba = parseColour(text);
    if (!rgba) {
      return text;
    }
    const alpha = rgba[3];
    if (luminance(rgba) > 0.75) {
      const mixed = rgba.slice(0, 3).map(function (c, i) { return DARK_PAPER[i] + (255 - c) * 0.9; });
      return toHex(mixed, alpha);
    }
    let rgb = rgba.slice(0, 3);
    for (let step = 0; step < 10 && contrast(rgb, DARK_PAPER) < 3; step += 1) {
      rgb = rgb.map(function (c) { return c + (255 - c) * 0.15; });
    }
    return toHex(rgb, alpha);
  }

  function colourProperties(model) {
    return Object.keys(model.properties).filter(function (key) { return /_color$/.test(key); });
  }

  function themedValue(value, theme) {
    if (theme === "light") {
      return value;
    }
    if (typeof value === "string") {
      return darkColour(value);
    }
    if (value && typeof value === "object" && typeof value.value === "string") {
      return Object.assign({}, value, { value: darkColour(value.value) });
    }
    return value;
  }

  function recolourModel(model, theme) {
    let saved = originals.get(model);
    if (!saved) {
      saved = new Map();
      for (const key of colourProperties(model)) {
        saved.set(key, model[key]);
      }
      originals.set(model, saved);
    }
    const changes = {};
    saved.forEach(function (original, key) {
      const next = themedValue(original, theme);
      if (JSON.stringify(model[key]) !== JSON.stringify(next)) {
        changes[key] = next;
      }
    });
    if (Object.keys(changes).length) {
      model.setv(changes);
    }
  }

  // Colour columns of a data source (such as one colour per model family).
  function recolourSource(source, theme) {
    let saved = originals.get(source);
    if (!saved) {
      saved = new Map();
      for (const column of Object.keys(source.data)) {
        const values = source.data[column];
        if (/colou?r/i.test(column) && Array.isArray(values) && values.every(function (v) { return typeof v === "string"; })) {
          saved.set(column, values.slice());
        }
      }
      originals.set(source, saved);
    }
    if (!saved.size) {
      return;
    }
    const data = Object.assign({}, source.data);
    saved.forEach(function (values, column) {
      data[column] = theme === "light" ? values.slice() : values.map(darkColour);
    });
    source.data = data;
  }

  // NOTE: a CustomJS callback that later sets a colour writes it as given, so
  // in the dark theme such a colour stays light until the next theme switch.
  function applyPlotTheme(theme) {
    if (!window.Bokeh || !window.Bokeh.documents) {
      return;
    }
    for (const model of allModels()) {
      if (model.type === "ColumnDataSource") {
        if (theme !== appliedTheme || !originals.has(model)) {
          recolourSource(model, theme);
        }
      } else if (colourProperties(model).length) {
        recolourModel(model, theme);
      }
    }
    appliedTheme = theme;
  }

  // A figure that has not rendered yet prints the picture captured at build
  // time for readers without JavaScript (inside its <noscript>), in the light
  // theme, instead of an empty frame. Figures are not rendered for printing,
  // because a plot sized for the screen is cut at the paper's edge.
  function addPrintPictures() {
    document.querySelectorAll("figure.has-plot:not(.is-interactive)").forEach(function (figure) {
      const noscript = figure.querySelector("noscript");
      if (!noscript || figure.querySelector(".figure-print")) {
        return;
      }
      const holder = document.createElement("div");
      holder.className = "figure-print";
      // The page's own markup, written by the build (templates/figure.html).
      holder.innerHTML = noscript.textContent;
      holder.querySelectorAll("source[media*='dark']").forEach(function (source) { source.remove(); });
      holder.querySelectorAll("img").forEach(function (image) { image.loading = "eager"; });
      noscript.after(holder);
    });
  }

  // Printing uses light paper whatever the screen theme.
  // The print media query also changes when print preview or emulation starts,
  // sometimes without a beforeprint event, so both are listened to.
  // NOTE: a figure rendered before printing prints live at its screen width,
  // which a narrower page cuts on the right.
  function setUpPrint() {
    const printing = window.matchMedia ? window.matchMedia("print") : null;
    const update = function () {
      const isPrinting = Boolean(printing && printing.matches);
      if (isPrinting) {
        addPrintPictures();
      }
      applyPlotTheme(isPrinting ? "light" : currentTheme());
    };
    window.addEventListener("beforeprint", function () {
      applyPlotTheme("light");
      addPrintPictures();
    });
    window.addEventListener("afterprint", update);
    if (printing) {
      printing.addEventListener("change", update);
    }
  }

  // ---- Table of contents --------------------------------------------------------

  function setUpContents() {
    const nav = document.getElementById("toc");
    const toggle = document.querySelector(".toc-toggle");
    const current = document.querySelector(".masthead-current");
    const links = Array.from(document.querySelectorAll(".toc-list a[data-section]"));
    const sections = links.map(function (link) { return document.getElementById(link.dataset.section); })
      .filter(Boolean);
    if (!nav || !sections.length) {
      return;
    }

    const close = function (returnFocus) {
      nav.classList.remove("is-open");
      if (toggle) {
        toggle.setAttribute("aria-expanded", "false");
        if (returnFocus) {
          toggle.focus();
        }
      }
    };
    if (toggle) {
      toggle.addEventListener("click", function () {
        const open = !nav.classList.contains("is-open");
        nav.classList.toggle("is-open", open);
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) {
          const active = nav.querySelector('[aria-current="true"]') || links[0];
          active.focus();
        }
      });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && nav.classList.contains("is-open")) {
          close(true);
        }
      });
      document.addEventListener("click", function (event) {
        if (nav.classList.contains("is-open") && !nav.contains(event.target) && !toggle.contains(event.target)) {
          close(false);
        }
      });
      links.forEach(function (link) {
        link.addEventListener("click", function () { close(false); });
      });
    }

    let active = null;
    let scheduled = false;
    const update = function () {
      scheduled = false;
      // The current section is the last one whose top has passed a line a
      // quarter of the way down the window.
      const line = window.innerHeight * 0.25;
      let index = 0;
      sections.forEach(function (section, i) {
        if (section.getBoundingClientRect().top <= line) {
          index = i;
        }
      });
      if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2) {
        index = sections.length - 1;
      }
      const link = links[index];
      if (link === active) {
        return;
      }
      if (active) {
        active.removeAttribute("aria-current");
      }
      link.setAttribute("aria-current", "true");
      active = link;
      if (current) {
        current.textContent = window.scrollY > 80 ? link.querySelector(".toc-text").textContent : "";
      }
    };
    const schedule = function () {
      if (!scheduled) {
        scheduled = true;
        window.requestAnimationFrame(update);
      }
    };
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule, { passive: true });
    update();
  }

  // ---- Settings in the URL fragment --------------------------------------------------

  // Figures that share their settings write "#NAME:key=value&..." themselves
  // (essaygen/figures/_fragment.py) and restore it when their document is
  // ready. This page script only loads such a figure first, scrolls to it, and
  // offers a "copy a link" button for figures without one of their own.

  // Return the figure element that owns the fragment, or null.
  function fragmentFigure() {
    const match = /^#([a-z0-9]+(?:-[a-z0-9]+)*):/.exec(window.location.hash);
    if (!match) {
      return null;
    }
    const figure = document.getElementById("figure-" + match[1]);
    return figure && figure.matches("figure[data-figure]") ? figure : null;
  }

  // A link to one figure: the current fragment when that figure owns it,
  // otherwise the figure's anchor.
  function figureLink(figureName) {
    const base = window.location.href.split("#")[0];
    const owner = fragmentFigure();
    if (owner && owner.dataset.figure === figureName) {
      return base + window.location.hash;
    }
    return base + "#figure-" + figureName;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return Promise.reject(new Error("clipboard not available"));
  }

  function setUpCopyButtons() {
    document.querySelectorAll(".copy-link").forEach(function (button) {
      const status = button.parentNode.querySelector(".copy-link-status");
      const field = button.parentNode.querySelector(".copy-link-field");
      button.addEventListener("click", function () {
        const link = figureLink(button.dataset.figure);
        field.value = link;
        copyText(link).then(function () {
          field.hidden = true;
          status.textContent = "Link copied.";
        }, function () {
          // Without clipboard access the link is shown selected, ready to copy by hand.
          field.hidden = false;
          field.focus();
          field.select();
          status.textContent = "Copying is not available here: the link is selected in the box.";
        });
      });
    });
  }

  // ---- Odds and ends ------------------------------------------------------------

  // A block that scrolls sideways (code, a wide equation or table on a phone)
  // must be reachable by keyboard so that it can be scrolled without a mouse.
  const SCROLLER_CANDIDATES = ".essay pre, .essay math, .essay table, .essay .figure-static *";

  function makeScrollersFocusable() {
    document.querySelectorAll(SCROLLER_CANDIDATES).forEach(function (element) {
      const style = getComputedStyle(element);
      const scrollable = function (overflow) { return overflow === "auto" || overflow === "scroll"; };
      const scrolls = (scrollable(style.overflowX) && element.scrollWidth > element.clientWidth) ||
        (scrollable(style.overflowY) && element.scrollHeight > element.clientHeight);
      if (scrolls && !element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
        element.dataset.scroller = "";
        // A focusable table needs a name; its caption gives one where present.
        if (element.tagName === "TABLE" && !element.hasAttribute("aria-label") && !element.caption) {
          element.setAttribute("aria-label", "Table, scrolls sideways");
        }
      } else if (!scrolls && element.hasAttribute("data-scroller")) {
        element.removeAttribute("tabindex");
        element.removeAttribute("data-scroller");
      }
    });
  }

  // ---- Start ---------------------------------------------------------------------

  // ---- Figures arriving after the first load --------------------------------

  let lazyObserver = null;

  function watchedItems(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const found = Array.prototype.slice.call(scope.querySelectorAll("script.bokeh-item"));
    if (scope.matches && scope.matches("script.bokeh-item")) {
      found.push(scope);
    }
    return found.filter(function (item) {
      if (item.dataset.watched) {
        return false;
      }
      item.dataset.watched = "true";
      return true;
    });
  }

  // Downloads the BokehJS bundles and the figures' items into the HTTP cache
  // without running them.
  function prefetchBokeh(items) {
    const itemUrls = items.map(function (item) { return item.dataset.src; }).filter(function (url, index, urls) {
      return url && urls.indexOf(url) === index;
    });
    bundleUrls().concat(itemUrls).forEach(function (url) {
      const link = document.createElement("link");
      link.rel = "prefetch";
      link.href = url;
      document.head.appendChild(link);
    });
  }

  function whenReady(item) {
    if (item.embedded) {
      return item.embedded;
    }
    // NOTE: never resolves if the figure is never scrolled near or fails to embed.
    return new Promise(function (resolve) {
      item.closest("figure").addEventListener("essay:figure-ready", resolve, { once: true });
    });
  }

  // Embeds the figures under root (default: the whole document) that are not
  // embedded yet, as they near the viewport. Rendering a figure is a long task
  // (BENCHMARKS.md has the measured times), so when the browser is idle it only
  // downloads BokehJS; without IntersectionObserver it renders every figure
  // then. Returns a promise that resolves when those figures are rendered.
  function init(root) {
    const items = watchedItems(root);
    if (!items.length) {
      return Promise.resolve();
    }
    if ("IntersectionObserver" in window) {
      if (!lazyObserver) {
        lazyObserver = new IntersectionObserver(function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              lazyObserver.unobserve(entry.target);
              const item = entry.target.parentNode.querySelector("script.bokeh-item");
              embedFigure(item);
            }
          });
        }, { rootMargin: LOOKAHEAD });
      }
      items.forEach(function (item) {
        const slot = document.getElementById(item.dataset.target);
        if (slot) {
          lazyObserver.observe(slot);
        }
      });
    }
    return new Promise(function (resolve, reject) {
      const idle = window.requestIdleCallback || function (callback) { return setTimeout(callback, 200); };
      idle(function () {
        if (!lazyObserver) {
          Promise.all(items.map(embedFigure)).then(resolve, reject);
          return;
        }
        prefetchBokeh(items.filter(function (item) { return !item.dataset.state; }));
        Promise.all(items.map(whenReady)).then(resolve, reject);
      }, { timeout: IDLE_TIMEOUT_MS });
    });
  }

  // Hosts with instant navigation (Turbo, swup, pjax) replace the page's
  // content without running its scripts; new figures are picked up here.
  function watchForNewFigures() {
    new MutationObserver(function (records) {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.nodeType !== 1) {
            continue;
          }
          if (node.matches("script.bokeh-item") || node.querySelector("script.bokeh-item")) {
            init(node);
          } else if (node.parentNode === document.body && node.shadowRoot && hostShadowElements) {
            guardBokehOverlays();
          }
        }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener("essay:init", function (event) {
      init(event.target === document ? document : event.target);
    });
  }

  // A figure's controls exist only once it has rendered, so Tab would skip the
  // controls of figures still far down the page: a keyboard reader's first Tab
  // renders every figure.
  function renderAllOnFirstTab(embedAll) {
    const onKey = function (event) {
      if (event.key === "Tab") {
        document.removeEventListener("keydown", onKey, true);
        embedAll();
      }
    };
    document.addEventListener("keydown", onKey, true);
  }

  // A jump to an anchor (the contents, a footnote) renders every figure and then
  // returns to the anchor, because figures that render after the jump can grow
  // past the height they reserve and move it. A reader who scrolls meanwhile
  // keeps their place.
  function keepAnchorsInPlace(embedAll) {
    window.addEventListener("hashchange", function () {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id ? document.getElementById(id) : null;
      if (!target) {
        return;
      }
      let readerScrolled = false;
      const onReaderScroll = function () { readerScrolled = true; };
      const events = ["wheel", "touchmove", "keydown"];
      events.forEach(function (name) { window.addEventListener(name, onReaderScroll, { passive: true, once: true }); });
      embedAll().then(function () {
        events.forEach(function (name) { window.removeEventListener(name, onReaderScroll); });
        if (!readerScrolled) {
          target.scrollIntoView({ block: "start" });
        }
      });
    });
  }

  function start() {
    const items = Array.prototype.slice.call(document.querySelectorAll("script.bokeh-item"));
    document.documentElement.classList.add("js");
    const embedAll = function () {
      watchedItems(document);
      return Promise.all(Array.prototype.map.call(document.querySelectorAll("script.bokeh-item"), embedFigure));
    };
    window.essay = {
      embedAll: embedAll,
      init: init,
      loadBokeh: loadBokeh,
      setTheme: function (theme) { setTheme(theme, false); },
      figureLink: figureLink,
    };

    setUpThemeToggle();
    setUpContents();
    setUpCopyButtons();
    setUpPrint();
    makeScrollersFocusable();
    let resizeTimer = 0;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(makeScrollersFocusable, 200);
    }, { passive: true });

    watchForNewFigures();
    if (!items.length) {
      return;
    }
    renderAllOnFirstTab(embedAll);
    keepAnchorsInPlace(embedAll);
    // A shared link opens at its figure, which loads first.
    const requested = fragmentFigure();
    if (requested && figureItem(requested)) {
      requested.scrollIntoView({ block: "start" });
      embedFigure(figureItem(requested));
    }
    init(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
