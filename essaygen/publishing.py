"""Publishing rules applied to every built page: the Content Security Policy,
``rel="noopener"`` on external links, no inline event handlers, and the site
URL taken from the environment when ``essay.toml`` does not set one.

GitHub Pages cannot send HTTP headers, so the policy travels in a
``<meta http-equiv="Content-Security-Policy">`` tag. A page template prints it
with ``{{ csp }}``; :func:`render_with_policy` renders the template once with
a placeholder there, hashes the inline scripts it finds, and puts the policy in
the placeholder's place.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
from html.parser import HTMLParser
from typing import Callable, Mapping
from urllib.parse import urlsplit

from markupsafe import Markup

from .config import SiteConfig
from .errors import BuildError

# pages.yml sets this from the Pages deployment so that canonical and Open
# Graph URLs are right on a fork without editing essay.toml.
SITE_URL_VARIABLE = "ESSAYGEN_SITE_URL"

# Script types that a browser executes, and that CSP therefore governs.
# JSON data blocks (type="application/json") are never executed.
EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}

# Sources that BokehJS 3.9.2 needs, measured in Chromium by tests/test_publishing.py:
# - 'unsafe-eval': CustomJS compiles its code with new Function(...). Without it
#   the plots draw, but each callback fails, so no control updates its plot.
# - style-src 'unsafe-inline': BokehJS writes <style> elements with styles it
#   computes at run time into each view's shadow root, so no hash can cover
#   them; figure.html also reserves each figure's height with a style attribute.
# - img-src data:: BokehJS draws widget icons (the Select arrow, toolbar logos)
#   from data: URLs.
# - connect-src 'self': the page itself fetches nothing, but crawlers' in-page
#   checks (Lighthouse's robots.txt audit) fetch from the same origin.
# Everything else comes from the site itself ('self'), which Chromium also
# matches for pages opened from file://.
BASE_DIRECTIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default-src", ("'none'",)),
    ("script-src", ("'self'", "'unsafe-eval'")),
    ("style-src", ("'self'", "'unsafe-inline'")),
    ("img-src", ("'self'", "data:")),
    ("connect-src", ("'self'",)),
    ("font-src", ("'self'",)),
    ("manifest-src", ("'self'",)),
    ("base-uri", ("'none'",)),
    ("form-action", ("'none'",)),
)

ANCHOR_TAG = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'\s(?P<name>[a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"(?P<value>[^"]*)"')


class _PageScanner(HTMLParser):
    """Collects inline executable scripts, inline styles and inline event handlers of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.handlers: list[tuple[int, str, str]] = []  # (line, tag, attribute)
        self._text: list[str] | None = None
        self._kind = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((self.getpos()[0], tag, f"{name}="))
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.handlers.append((self.getpos()[0], tag, f"{name}=javascript:"))
        script_type = (values.get("type") or "").strip().lower()
        if tag == "script" and "src" not in values and script_type in EXECUTABLE_SCRIPT_TYPES:
            self._text, self._kind = [], "script"
        elif tag == "style":
            self._text, self._kind = [], "style"

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._text is not None and tag == self._kind:
            (self.scripts if tag == "script" else self.styles).append("".join(self._text))
            self._text = None


def scan_page(html: str) -> _PageScanner:
    """Parse ``html`` and return what it contains that a CSP has to allow."""
    scanner = _PageScanner()
    scanner.feed(html)
    scanner.close()
    return scanner


def source_hash(text: str) -> str:
    """Return the CSP source expression ``'sha256-…'`` for an inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(html: str) -> str:
    """Return the policy for the page ``html``: the base directives plus a hash per inline script."""
    return policy_of(scan_page(html))


def policy_of(scanned: _PageScanner) -> str:
    """Return the policy for a scanned page: the base directives plus a hash per inline script."""
    scripts = sorted({source_hash(text) for text in scanned.scripts})
    parts = []
    for directive, sources in BASE_DIRECTIVES:
        if directive == "script-src":
            sources = (*sources, *scripts)
        parts.append(f"{directive} {' '.join(sources)}")
    return "; ".join(parts)


def standalone_policy_of(scanned: _PageScanner) -> str:
    """Return the policy of a scanned page without scripts, such as 404.html: its own inline styles only."""
    styles = sorted({source_hash(text) for text in scanned.styles})
    style_sources = " ".join(styles) or "'none'"
    return f"default-src 'none'; style-src {style_sources}; base-uri 'none'; form-action 'none'"


def check_no_inline_handlers(html: str, page: str) -> None:
    """Raise when ``html`` has ``on…=`` attributes or ``javascript:`` URLs, which the policy blocks."""
    raise_for_handlers(scan_page(html), page)


def raise_for_handlers(scanned: _PageScanner, page: str) -> None:
    """Raise when a scanned page has inline event handlers or ``javascript:`` URLs."""
    found = scanned.handlers
    if found:
        line, tag, attribute = found[0]
        raise BuildError(
            f"{page} has an inline event handler <{tag} {attribute}…> on line {line} "
            f"({len(found)} in all); the Content Security Policy blocks it",
            hint="attach the handler from theme/essay.js with addEventListener instead",
        )


def add_noopener(html: str, site_url: str = "") -> str:
    """Add ``rel="noopener"`` to every link to another host.

    Links are external when they are absolute http(s) or protocol-relative
    URLs whose host differs from the host of ``site_url``.
    """
    own_host = urlsplit(site_url).netloc.lower() if site_url else ""

    def rewrite(match: re.Match) -> str:
        tag = match.group(0)
        attributes = {m.group("name").lower(): m for m in ATTRIBUTE.finditer(tag)}
        href = attributes.get("href")
        if href is None:
            return tag
        url = urlsplit(href.group("value").strip())
        is_absolute = url.scheme.lower() in ("http", "https") or (not url.scheme and url.netloc)
        if not is_absolute or url.netloc.lower() == own_host:
            return tag
        rel = attributes.get("rel")
        if rel is None:
            closing = "/>" if tag.endswith("/>") else ">"
            return f'{tag[: -len(closing)]} rel="noopener"{closing}'
        tokens = rel.group("value").split()
        if "noopener" in (token.lower() for token in tokens):
            return tag
        start, end = rel.span("value")
        start -= match.start(0)
        end -= match.start(0)
        return f"{tag[:start]}{' '.join([*tokens, 'noopener'])}{tag[end:]}"

    return ANCHOR_TAG.sub(rewrite, html)


# Stands in for the policy while the page is scanned; the policy replaces it afterwards.
POLICY_PLACEHOLDER = "essaygen-content-security-policy-placeholder"


def render_with_policy(
    render: Callable[[Mapping[str, str]], str], page: str, site_url: str = "", standalone: bool = False
) -> str:
    """Render a page with ``csp`` set to the policy that allows exactly its inline scripts.

    ``render`` receives the extra template context (``{"csp": …}``). The page
    is rendered once with a placeholder policy and scanned once; the policy
    then replaces the placeholder. Hashes stay right only while the
    placeholder is outside every inline script and style, which is checked.
    """
    draft = render({"csp": Markup(POLICY_PLACEHOLDER)})
    scanned = scan_page(draft)
    if any(POLICY_PLACEHOLDER in text for text in (*scanned.scripts, *scanned.styles)):
        raise BuildError(
            f"{page}: the inline scripts or styles change when the Content Security Policy is added",
            hint="keep {{ csp }} out of inline <script> and <style> elements",
        )
    raise_for_handlers(scanned, page)
    policy = standalone_policy_of(scanned) if standalone else policy_of(scanned)
    # The policy has no double quote, < or &, so it is safe in the attribute unescaped.
    return add_noopener(draft.replace(POLICY_PLACEHOLDER, policy), site_url)


def config_with_environment(config: SiteConfig, environ: Mapping[str, str] = os.environ) -> SiteConfig:
    """Return ``config`` with ``site_url`` from ``ESSAYGEN_SITE_URL`` when essay.toml leaves it empty.

    The variable must be an absolute http(s) URL. A trailing slash is added
    because the site is a folder.
    """
    value = environ.get(SITE_URL_VARIABLE, "").strip()
    if config.site_url or not value:
        return config
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise BuildError(
            f"environment variable {SITE_URL_VARIABLE} must be an absolute http(s) URL, got {value!r}",
            hint=f"set it like {SITE_URL_VARIABLE}=https://user.github.io/repo/ or unset it",
        )
    if not value.endswith("/"):
        value += "/"
    return dataclasses.replace(config, site_url=value)
