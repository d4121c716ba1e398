"""Shareable figure state in the URL fragment, as JavaScript for CustomJS callbacks.

A figure that shares its state writes ``#NAME:key=value&key=value`` with
``history.replaceState`` as the reader moves a control, so the reader's history
gains no entries, and reads it back when its Bokeh document is ready. Only one
figure owns the fragment at a time: the one the reader changed last.

The write is deferred: a callback only records the URL, and one replaceState
runs :data:`FRAGMENT_WRITE_DELAY_MS` after the last change, because one call
took about 0.5 ms (median; 95th percentile 4.9 ms) in headless Chromium on the
essay page (``benchmarks/pageload.py``, ``measure_replace_state``), which is
more than the rest of a typical callback. A pending write happens at once
before any click (so a copy-link button reads the new URL) and when the page
is hidden or left, and is dropped when the reader navigates (back, forward or
an anchor link), so that it never overwrites the URL they went to.

Every value read from a fragment is untrusted. :data:`FRAGMENT_JS` only parses
it into strings. Each figure's restore callback then accepts a value only if it
is one of the control's options or a finite number on the control's grid, and
keeps the default otherwise. Values never reach ``innerHTML``.
"""

from __future__ import annotations

from bokeh.document import Document
from bokeh.models import CustomJS

MAX_FRAGMENT_LENGTH = 512
"""Longer fragments are ignored: no figure's state needs more."""

FRAGMENT_WRITE_DELAY_MS = 100
"""How long after the last change the URL is written, in milliseconds."""

FRAGMENT_JS = r"""
const MAX_FRAGMENT_LENGTH = %(max_length)d;
const FRAGMENT_WRITE_DELAY_MS = %(write_delay_ms)d;
function read_fragment(figure_name) {
  // Return the fragment's key/value strings as a Map, or null when it belongs to another figure.
  const hash = window.location.hash;
  const prefix = "#" + figure_name + ":";
  if (!hash.startsWith(prefix) || hash.length > MAX_FRAGMENT_LENGTH) return null;
  const state = new Map();
  for (const [key, value] of new URLSearchParams(hash.slice(prefix.length))) {
    if (!state.has(key)) state.set(key, value);
  }
  return state;
}
function fragment_url(figure_name, state) {
  // Return the page URL with the fragment "#figure_name:key=value&...".
  const query = new URLSearchParams(state).toString();
  return window.location.href.split("#")[0] + "#" + figure_name + ":" + query;
}
function fragment_writer() {
  // Return the page's one deferred fragment writer, creating it on first use. It lives on
  // window because these functions are defined afresh in every CustomJS call.
  let writer = window.essay_fragment_writer;
  if (writer !== undefined) return writer;
  writer = {url: null, timer: 0};
  writer.flush = () => {
    clearTimeout(writer.timer);
    const url = writer.url;
    writer.url = null;
    if (url !== null && url !== window.location.href) {
      window.history.replaceState(window.history.state, "", url);
    }
  };
  writer.cancel = () => { clearTimeout(writer.timer); writer.url = null; };
  window.addEventListener("click", writer.flush, true);
  window.addEventListener("pagehide", writer.flush);
  document.addEventListener("visibilitychange", writer.flush);
  window.addEventListener("popstate", writer.cancel);
  window.addEventListener("hashchange", writer.cancel);
  Object.defineProperty(window, "essay_fragment_writer", {value: writer});
  return writer;
}
function write_fragment(figure_name, state) {
  // Record the URL for state; fragment_writer() writes it once the reader pauses.
  const writer = fragment_writer();
  writer.url = fragment_url(figure_name, state);
  clearTimeout(writer.timer);
  writer.timer = setTimeout(writer.flush, FRAGMENT_WRITE_DELAY_MS);
}
function grid_index(grid, text) {
  // Return the index of the grid value equal to the number in text, or -1.
  if (typeof text !== "string" || !/^[0-9.eE+-]{1,24}$/.test(text)) return -1;
  const x = Number(text);
  if (!Number.isFinite(x)) return -1;
  for (let i = 0; i < grid.length; i++) {
    if (Math.abs(grid[i] - x) <= 1e-9 * Math.max(1, Math.abs(x))) return i;
  }
  return -1;
}
function mark_restored(figure_name, outcome) {
  const element = document.getElementById("figure-" + figure_name);
  if (element) element.dataset.fragment = outcome;
}
""" % {"max_length": MAX_FRAGMENT_LENGTH, "write_delay_ms": FRAGMENT_WRITE_DELAY_MS}


def restore_on_ready(root, restore: CustomJS) -> None:
    """Run ``restore`` once the root's Bokeh document has rendered in the browser.

    The root gets a document of its own so that :func:`bokeh.embed.json_item`
    serialises the ``document_ready`` callback along with it.
    """
    if root.document is None:
        Document().add_root(root)
    root.document.js_on_event("document_ready", restore)
