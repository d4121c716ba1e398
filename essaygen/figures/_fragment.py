"""Shareable figure state in the URL fragment, as JavaScript for CustomJS callbacks.

A figure that shares its state writes ``#NAME:key=value&key=value`` with
``history.replaceState`` as the reader moves a control, so the reader's history
gains no entries, and reads it back when its Bokeh document is ready. Only one
figure owns the fragment at a time: the one the reader changed last.

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

FRAGMENT_JS = r"""
const MAX_FRAGMENT_LENGTH = %(max_length)d;
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
function write_fragment(figure_name, state) {
  const url = fragment_url(figure_name, state);
  if (url !== window.location.href) {
    window.history.replaceState(window.history.state, "", url);
  }
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
""" % {"max_length": MAX_FRAGMENT_LENGTH}


def restore_on_ready(root, restore: CustomJS) -> None:
    """Run ``restore`` once the root's Bokeh document has rendered in the browser.

    The root gets a document of its own so that :func:`bokeh.embed.json_item`
    serialises the ``document_ready`` callback along with it.
    """
    if root.document is None:
        Document().add_root(root)
    root.document.js_on_event("document_ready", restore)
