"""Publishing: Content Security Policy, base paths, file://, 404 page, fragment mode, workflows.

Browser tests open the real essay in Chromium. Controls are moved from a
timer task or with the keyboard, never synchronously inside page.evaluate:
DevTools evaluation is exempt from the page's CSP, so a CustomJS callback
compiled there would pass even without 'unsafe-eval'.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from browser import PageWatcher, chromium_context, serve_site, wait_for_figures
from conftest import DESKTOP, REPO
from essaygen import cli
from essaygen.errors import BuildError
from essaygen.fragment import scope_css, scope_selector
from essaygen.publishing import add_noopener, config_with_environment, content_security_policy
from essaygen.config import SiteConfig
from test_readme import readme_commands

HASHED_NAME = re.compile(r"\.[0-9a-f]{10}\.[a-z0-9]+$")
SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")

SECTION_WITH_LINKS = """+++
title = "Opening"
+++

Read [the paper](https://example.org/paper), [its code](http://example.org/code "Code"),
[a later section](#opening) and [a mailbox](mailto:someone@example.org).
"""


def csp_of(html: str) -> dict[str, list[str]]:
    """Return the directives of the page's CSP meta tag as {name: [sources]}."""
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert match, "no Content-Security-Policy meta tag"
    directives = {}
    for part in match.group(1).split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


class _Links(HTMLParser):
    """Collects every URL in src, href and srcset attributes, and each <a> tag's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a":
            self.anchors.append(values)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append((tag, name, values[name]))
        for candidate in (values.get("srcset") or "").split(","):
            if candidate.strip():
                self.urls.append((tag, "srcset", candidate.split()[0]))


def links_of(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


# ---- Content Security Policy and links, without a browser -------------------


def test_policy_hashes_only_executable_inline_scripts():
    html = (
        '<script>alert(1)</script><script type="application/json">{"a":1}</script>'
        '<script src="assets/x.js"></script><script type="module">go()</script>'
    )

    policy = content_security_policy(html)
    script_src = [part for part in policy.split("; ") if part.startswith("script-src ")][0].split()

    assert sha256_source("alert(1)") in script_src
    assert sha256_source("go()") in script_src
    assert sha256_source('{"a":1}') not in script_src
    assert "'unsafe-inline'" not in script_src
    assert len([source for source in script_src if source.startswith("'sha256-")]) == 2


def test_built_page_policy(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    assert project.build("-q") == 0
    html = (project.site / "index.html").read_text(encoding="utf-8")
    policy = csp_of(html)
    inline_scripts = re.findall(r"<script>(.*?)</script>", html, re.S)

    assert html.index('http-equiv="Content-Security-Policy"') < html.index("<script")
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"][:2] == ["'self'", "'unsafe-eval'"]
    assert sorted(policy["script-src"][2:]) == sorted({sha256_source(text) for text in inline_scripts})
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]


def test_404_page_is_self_contained(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    assert project.build("-q") == 0
    html = (project.site / "404.html").read_text(encoding="utf-8")
    policy = csp_of(html)
    styles = re.findall(r"^<style>(.*?)</style>", html, re.S | re.M)

    assert "<script" not in html
    assert [url for _, _, url in links_of(html).urls] == []
    assert policy["default-src"] == ["'none'"]
    assert policy["style-src"] == [sha256_source(styles[0])]
    assert "script-src" not in policy


def test_404_page_links_to_site_url(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    (project.root / "essay.toml").write_text('[site]\nsite_url = "https://user.github.io/essay/"\n')
    assert project.build("-q") == 0
    html = (project.site / "404.html").read_text(encoding="utf-8")

    assert [url for _, _, url in links_of(html).urls] == ["https://user.github.io/essay/"]


def test_nojekyll_written(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    assert project.build("-q") == 0

    assert (project.site / ".nojekyll").is_file()


def test_external_links_get_noopener(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    assert project.build("-q") == 0
    anchors = {a["href"]: a for a in links_of((project.site / "index.html").read_text()).anchors}

    assert anchors["https://example.org/paper"]["rel"] == "noopener"
    assert anchors["http://example.org/code"]["rel"] == "noopener"
    assert "rel" not in anchors["#opening"]
    assert "rel" not in anchors["mailto:someone@example.org"]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ('<a href="https://other.org/">', '<a href="https://other.org/" rel="noopener">'),
        ('<a href="//other.org/x">', '<a href="//other.org/x" rel="noopener">'),
        ('<a rel="external" href="https://other.org/">', '<a rel="external noopener" href="https://other.org/">'),
        ('<a href="https://other.org/" rel="noopener">', '<a href="https://other.org/" rel="noopener">'),
        ('<a href="https://user.github.io/essay/#x">', '<a href="https://user.github.io/essay/#x">'),
        ('<a href="assets/paper.pdf">', '<a href="assets/paper.pdf">'),
        ('<a id="top">', '<a id="top">'),
    ],
)
def test_add_noopener_cases(tag, expected):
    assert add_noopener(tag, site_url="https://user.github.io/essay/") == expected


def test_inline_event_handler_fails_build(project, capsys):
    project.write("01-opening.md", SECTION_WITH_LINKS + '\n<button onclick="go()">Go</button>\n')

    assert project.build() == 1
    message = capsys.readouterr().err
    assert "onclick=" in message
    assert "addEventListener" in message


def test_site_url_from_environment():
    config = config_with_environment(SiteConfig(), {"ESSAYGEN_SITE_URL": "https://user.github.io/essay"})

    assert config.site_url == "https://user.github.io/essay/"


def test_site_url_from_essay_toml_wins():
    config = SiteConfig(site_url="https://essay.example/")

    assert config_with_environment(config, {"ESSAYGEN_SITE_URL": "https://user.github.io/x"}) is config


def test_invalid_site_url_environment_rejected():
    with pytest.raises(BuildError, match="ESSAYGEN_SITE_URL.*'user.github.io/essay'"):
        config_with_environment(SiteConfig(), {"ESSAYGEN_SITE_URL": "user.github.io/essay"})


def test_canonical_url_from_environment(project, monkeypatch):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    monkeypatch.setenv("ESSAYGEN_SITE_URL", "https://user.github.io/essay")
    assert project.build("-q") == 0
    html = (project.site / "index.html").read_text(encoding="utf-8")

    assert '<link rel="canonical" href="https://user.github.io/essay/">' in html


# ---- Relative, hashed asset URLs --------------------------------------------


def check_asset_urls(site: Path, page: str) -> None:
    """Assert that every URL a page loads is relative, content-hashed and present in the site."""
    html = (site / page).read_text(encoding="utf-8")
    links = links_of(html)
    loaded = [(tag, url) for tag, attribute, url in links.urls if tag != "a"]
    bundles = re.search(r'<script type="application/json" id="bokeh-bundles">(.*?)</script>', html)
    loaded += [("bokeh", url) for url in re.findall(r'"([^"]+)"', bundles.group(1))] if bundles else []
    standard_absolute = {"canonical", "og:url", "og:image", "twitter:image"}

    assert loaded, f"{page} loads nothing"
    for tag, url in loaded:
        if tag == "link" and url.startswith("https://"):
            assert 'rel="canonical"' in html, url
            continue
        parts = urlsplit(url)
        assert not parts.scheme, f"{page}: {tag} {url}"
        assert not parts.netloc, f"{page}: {tag} {url}"
        assert not url.startswith("/"), f"{page}: {tag} {url}"
        assert HASHED_NAME.search(parts.path), f"{page}: {url} has no content hash"
        assert (site / parts.path).is_file(), f"{page}: {url} is missing from the site"
    for match in re.finditer(r'<meta (?:property|name)="([^"]+)" content="(https?://[^"]*)"', html):
        assert match.group(1) in standard_absolute, match.group(0)


def test_every_asset_is_hashed_and_referenced_relatively(built_site):
    pages = sorted(path.name for path in built_site.glob("*.html") if path.name != "404.html")
    for page in pages:
        check_asset_urls(built_site, page)
    bokeh_files = sorted(path.name for path in (built_site / "assets").glob("bokeh*.js"))
    html = (built_site / "index.html").read_text(encoding="utf-8")

    assert bokeh_files, "BokehJS was not copied into the site"
    for name in bokeh_files:
        assert HASHED_NAME.search(name), name
        assert f"assets/{name}" in html, f"{name} is copied but the page does not load it"
    for path in (built_site / "assets").rglob("*"):
        if path.is_file():
            assert HASHED_NAME.search(path.name), f"{path} has no content hash"


def test_stylesheet_urls_are_relative_and_present(built_site):
    for stylesheet in (built_site / "assets").rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", stylesheet.read_text(encoding="utf-8")):
            if url.startswith("data:"):
                continue
            assert not urlsplit(url).scheme, f"{stylesheet.name}: {url}"
            assert not url.startswith("/"), f"{stylesheet.name}: {url}"
            assert (stylesheet.parent / urlsplit(url).path).resolve().is_file(), f"{stylesheet.name}: {url}"


# ---- CSS scoping for the fragment -------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (":root", ".essaygen"),
        ("html", ".essaygen"),
        ("body", ".essaygen"),
        ("html body .x", ".essaygen .x"),
        ("body > main", ".essaygen > main"),
        ("html.js .figure", "html.js .essaygen .figure"),
        (':root[data-theme="dark"]', ':root[data-theme="dark"] .essaygen'),
        ("*", ".essaygen *"),
        ("a:hover", ".essaygen a:hover"),
        ("bodytext", ".essaygen bodytext"),
        ("h1 + p", ".essaygen h1 + p"),
    ],
)
def test_scope_selector_cases(selector, expected):
    assert scope_selector(selector, ".essaygen") == expected


def test_scope_css_keeps_at_rules_and_nested_lists():
    css = """
    :root { --x: 1px; }
    a, :is(h1, h2) b { color: red; }
    @media (max-width: 40rem) { body, p { margin: 0; } }
    @keyframes fade { from { opacity: 0; } to { opacity: 1; } }
    @font-face { font-family: Essay; src: url(font.woff2); }
    """

    scoped = scope_css(css, ".essaygen")

    assert ".essaygen {" in scoped
    assert ".essaygen a, .essaygen :is(h1, h2) b {" in scoped
    assert "@media (max-width: 40rem) {\n.essaygen, .essaygen p {" in scoped
    assert "@keyframes fade { from { opacity: 0; } to { opacity: 1; } }" in scoped
    assert ".essaygen from" not in scoped
    assert "@font-face { font-family: Essay; src: url(font.woff2); }" in scoped


def test_scope_css_reports_invalid_css():
    with pytest.raises(BuildError, match="invalid CSS"):
        scope_css("a { color: red; } }", ".essaygen", "theme/essay.css")


# ---- Fragment build, without a browser ---------------------------------------


def test_fragment_build_writes_fragment_and_assets(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    out = project.root / "fragment"

    assert project.build("-q", "--fragment", "--out", str(out)) == 0
    html = (out / "essay.html").read_text(encoding="utf-8")
    stylesheet = re.search(r'<link rel="stylesheet" href="(assets/essay-fragment\.[0-9a-f]{10}\.css)">', html)

    for tag in ("html", "head", "body", "meta"):
        assert not re.search(rf"<{tag}[\s>]", html), tag
    assert html.count('<div class="essaygen" data-essay-isolate>') == 1
    assert stylesheet and (out / stylesheet.group(1)).is_file()
    assert re.findall(r"<script>", html) == []
    assert 'href="https://example.org/paper" rel="noopener"' in html
    for _, _, url in links_of(html).urls:
        if not url.startswith(("#", "http", "mailto:")):
            assert (out / url).is_file(), url


def test_fragment_default_output_folder(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)

    assert project.build("-q", "--fragment") == 0
    assert (project.root / "site-fragment" / "essay.html").is_file()
    assert not (project.root / "site").exists()


def test_fragment_stylesheet_is_scoped(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)
    assert project.build("-q", "--fragment") == 0
    css = next((project.root / "site-fragment" / "assets").glob("essay-fragment.*.css")).read_text()
    selectors = []
    for rule in re.findall(r"(?:^|})\s*([^{}@]+?)\s*\{", css):
        selectors += [part.strip() for part in rule.split(",")]

    assert selectors
    for selector in selectors:
        if selector in ("from", "to") or selector.endswith("%"):
            continue
        assert ".essaygen" in selector, selector


def test_fragment_asset_base(project):
    project.write("01-opening.md", SECTION_WITH_LINKS)

    assert project.build("-q", "--fragment", "--asset-base", "/static/essay/") == 0
    html = (project.root / "site-fragment" / "essay.html").read_text(encoding="utf-8")
    loaded = [url for tag, _, url in links_of(html).urls if tag != "a"]

    assert loaded
    assert all(url.startswith("/static/essay/") for url in loaded), loaded
    assert "assets/" not in html.replace("/static/essay/", "")


@pytest.mark.parametrize("value", ["/static/essay", "javascript:x/", "/a b/", "/x/?v=1/"])
def test_fragment_asset_base_rejected(project, capsys, value):
    project.write("01-opening.md", SECTION_WITH_LINKS)

    assert project.build("--fragment", "--asset-base", value) == 1
    assert f"invalid --asset-base {value!r}" in capsys.readouterr().err


# ---- GitHub Actions workflows -------------------------------------------------


def load_workflow(name: str) -> dict:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key "on" as the boolean true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps_of(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("name", ["ci.yml", "pages.yml"])
def test_workflow_actions_pinned_to_commits(name):
    uses = [step["uses"] for step in steps_of(load_workflow(name)) if "uses" in step]

    assert uses
    for action in uses:
        assert SHA_PINNED.match(action), f"{name}: {action} is not pinned to a commit"


def test_ci_runs_readme_test_command():
    workflow = load_workflow("ci.yml")
    runs = [step["run"].strip() for step in steps_of(workflow) if "run" in step]

    assert set(workflow["on"]) == {"push", "pull_request"}
    assert readme_commands()[1] in runs
    assert any("apt-get install" in run and "chromium" in run for run in runs)


def test_pages_builds_with_readme_command_and_deploys():
    workflow = load_workflow("pages.yml")
    steps = steps_of(workflow)
    runs = [step["run"].strip() for step in steps if "run" in step]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@"))

    assert readme_commands()[0] in runs
    assert "push" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert uses.index("actions/upload-pages-artifact") < uses.index("actions/deploy-pages")
    assert upload["with"]["path"].rstrip("/") == "site"
    assert workflow["jobs"]["deploy"]["environment"]["name"] == "github-pages"


@pytest.mark.parametrize("name", ["ci.yml", "pages.yml"])
def test_workflow_caches_pip(name):
    workflow = load_workflow(name)
    pip_cache_dirs = {job.get("env", {}).get("PIP_CACHE_DIR") for job in workflow["jobs"].values()} - {None}
    caches = [step for step in steps_of(workflow)
              if step.get("uses", "").startswith("actions/cache@") and step["with"]["path"] in pip_cache_dirs]

    assert len(caches) == 1
    assert "hashFiles('pyproject.toml')" in caches[0]["with"]["key"]


def test_pages_workflow_reuses_the_build_cache():
    # Figures and their pictures are cached under .cache/ by a hash of their
    # inputs, so a deployment can start from the previous run's cache.
    caches = [step for step in steps_of(load_workflow("pages.yml"))
              if step.get("uses", "").startswith("actions/cache@") and step["with"]["path"] == ".cache"]

    assert len(caches) == 1
    assert caches[0]["with"]["key"].startswith("essay-cache-")
    assert caches[0]["with"]["restore-keys"] == "essay-cache-"


# ---- In Chromium ---------------------------------------------------------------

# Records Content Security Policy violations from the first script on.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
}, true);
"""

# Moves every slider that has a CustomJS callback to its end, from a timer task
# so that the page's CSP applies to the callback's compilation.
MOVE_SLIDERS = """() => new Promise((resolve) => setTimeout(() => {
  let moved = 0;
  for (const doc of Bokeh.documents) {
    for (const model of doc.all_models) {
      const callbacks = model.js_property_callbacks || {};
      if (Object.keys(callbacks).length && typeof model.value === "number" && typeof model.end === "number") {
        model.value = model.end;
        moved += 1;
      }
    }
  }
  resolve(moved);
}, 0))"""

# Resolves after the idle callbacks that the page registered earlier have run.
WAIT_FOR_IDLE = "() => new Promise((resolve) => requestIdleCallback(resolve, { timeout: 10000 }))"

READOUTS = "() => Array.from(document.querySelectorAll('.figure-readouts')).map((element) => element.textContent)"

CHECK_FIGURES_RENDERED = """() => Array.from(document.querySelectorAll('script.bokeh-item')).map((item) => {
  const slot = document.getElementById(item.dataset.target);
  const box = slot.getBoundingClientRect();
  const hasPlot = /"name":"(Figure|Plot)"/.test(item.textContent);
  return {target: item.dataset.target, state: item.dataset.state, width: box.width, height: box.height, hasPlot};
})"""


@pytest.fixture(scope="module")
def publishing_context():
    with chromium_context(viewport=DESKTOP) as context:
        context.add_init_script(CSP_LISTENER)
        yield context


def control_count(page, target: str) -> int:
    """Return how many sliders, menus and buttons Bokeh rendered under ``#target``, through shadow roots."""
    return page.locator(f"#{target} .noUi-handle, #{target} select, #{target} button").count()


def canvas_sizes(page, target: str) -> list[tuple[int, int]]:
    """Return the (width, height) of each canvas Bokeh drew under ``#target``, through shadow roots."""
    return [
        (round(box["width"]), round(box["height"]))
        for box in (canvas.bounding_box() for canvas in page.locator(f"#{target} canvas").all())
        if box
    ]


def open_and_check(context, url: str, origin: str) -> str:
    """Open the essay at ``url``, render and drive every figure, and assert nothing failed; return the final URL."""
    page = context.new_page()
    watcher = PageWatcher(page, allowed_origin=origin)
    try:
        page.goto(url)
        count = wait_for_figures(page)
        figures = page.evaluate(CHECK_FIGURES_RENDERED)
        before = page.evaluate(READOUTS)
        moved = page.evaluate(MOVE_SLIDERS)
        page.locator(".noUi-handle").first.focus()
        page.keyboard.press("Home")
        page.wait_for_function(f"(before) => ({READOUTS})().join('|') !== before.join('|')", arg=before)
        # Work the page defers to idle time (such as prefetching) must pass the policy too.
        page.evaluate(WAIT_FOR_IDLE)
        violations = page.evaluate("() => window.__cspViolations")
        final_url = page.url

        assert count == len(figures) > 0
        for figure in figures:
            assert figure["state"] == "ready", figure
            assert figure["width"] > 200, figure
            assert figure["height"] > 100, figure
            sizes = canvas_sizes(page, figure["target"])
            if figure["hasPlot"]:
                assert sizes and max(width for width, _ in sizes) > 200, (figure["target"], sizes)
            else:
                assert control_count(page, figure["target"]) > 0, figure
        assert moved > 0
        assert violations == []
    finally:
        page.close()
    watcher.assert_clean()
    return final_url


@pytest.mark.browser
@pytest.mark.parametrize(
    ("prefix", "path", "redirect"),
    [
        ("/", "/", True),
        ("/sub/path/", "/sub/path/", True),
        ("/sub/path/", "/sub/path", True),
        ("/sub/path/", "/sub/path", False),
    ],
    ids=["root", "sub-path", "no-slash-redirected", "no-slash-not-redirected"],
)
def test_site_served_at_base_path(built_site, publishing_context, prefix, path, redirect):
    with serve_site(built_site, prefix, redirect_folders=redirect) as base_url:
        origin = base_url[: -len(prefix)] if prefix != "/" else base_url[:-1]

        final_url = open_and_check(publishing_context, origin + path, origin)

    assert urlsplit(final_url).path == prefix


@pytest.mark.browser
def test_site_opened_from_file(built_site, publishing_context):
    final_url = open_and_check(publishing_context, (built_site / "index.html").as_uri(), "file://")

    assert final_url.startswith((built_site / "index.html").as_uri())


@pytest.mark.browser
def test_404_page_at_deep_path(built_site, publishing_context):
    missing = (built_site / "404.html").read_text(encoding="utf-8")
    page = publishing_context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    # GitHub Pages serves 404.html with status 404 at any missing path.
    page.route(
        "http://127.0.0.1:9/repo/a/b/c",
        lambda route: route.fulfill(status=404, body=missing, content_type="text/html; charset=utf-8"),
    )
    try:
        page.goto("http://127.0.0.1:9/repo/a/b/c")
        heading = page.locator("h1").text_content()
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        violations = page.evaluate("() => window.__cspViolations")
    finally:
        page.close()

    assert heading == "Page not found"
    assert background == "rgb(251, 250, 247)"
    assert violations == []
    assert requests == ["http://127.0.0.1:9/repo/a/b/c"]


# ---- The fragment inside a host page ------------------------------------------

# What a blog theme might do to bare elements.
HOSTILE_CSS = """
* { box-sizing: content-box; }
body { font: 22px/3 "Comic Sans MS", cursive; color: #303; background: #ffe; letter-spacing: 2px; }
div { display: flex; flex-direction: row-reverse; padding: 37px; margin: 11px; border: 5px dashed red;
      background: #f0f; font-size: 31px; line-height: 4; color: lime; text-transform: uppercase;
      max-width: 300px; overflow: hidden; }
canvas { display: none !important; width: 10px; }
input, select, button { display: none; width: 5px; }
figure { float: right; width: 120px; }
svg { width: 2px; height: 2px; }
a { color: orange; }
"""

# The policy that docs/publishing.md requires of a host page with its own CSP.
HOST_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'"
)

HOST_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>A blog post</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/blog.css">
</head>
<body>
<h2 id="host-heading">A post that includes the essay</h2>
<p id="host-text">Text of the host page, with <a id="host-link" href="#host-heading">a link</a>.</p>
<table id="host-table"><tr><td>host cell</td></tr></table>
{fragment}
<p id="host-after">Text after the essay.</p>
</body>
</html>
"""

HOST_STYLES = """() => Object.fromEntries(["host-heading", "host-text", "host-link", "host-table", "host-after"].map((id) => {
  const style = getComputedStyle(document.getElementById(id));
  return [id, [style.fontFamily, style.fontSize, style.lineHeight, style.color, style.backgroundColor,
               style.margin, style.padding, style.borderTopWidth]];
}))"""


@pytest.fixture(scope="session")
def built_fragment(tmp_path_factory) -> Path:
    """Build the real essay as a fragment once and return its output folder."""
    out = tmp_path_factory.mktemp("fragment") / "site-fragment"
    code = cli.main(["build", "-q", "--fragment", "--root", str(REPO), "--out", str(out)])
    assert code == 0, "building the real essay as a fragment failed; run `python build.py --fragment`"
    return out


def make_host(folder: Path, fragment_dir: Path, css: str, include_fragment: bool = True) -> Path:
    """Write a blog-like host site: /blog.css and /post/index.html with the fragment and its assets."""
    post = folder / "post"
    shutil.copytree(fragment_dir / "assets", post / "assets")
    (folder / "blog.css").write_text(css, encoding="utf-8")
    fragment = (fragment_dir / "essay.html").read_text(encoding="utf-8") if include_fragment else ""
    (post / "index.html").write_text(HOST_PAGE.format(policy=HOST_POLICY, fragment=fragment), encoding="utf-8")
    return folder


def host_page_layout(context, folder: Path) -> tuple[dict, dict, list[str]]:
    """Open /post/ of a host site; return figure canvas sizes, host element styles and CSP violations."""
    with serve_site(folder, "/") as base_url:
        page = context.new_page()
        watcher = PageWatcher(page, allowed_origin=base_url[:-1])
        try:
            page.goto(base_url + "post/")
            figures = {}
            if page.locator("script.bokeh-item").count():
                wait_for_figures(page)
                before = page.evaluate(READOUTS)
                page.evaluate(MOVE_SLIDERS)
                page.wait_for_function(f"(before) => ({READOUTS})().join('|') !== before.join('|')", arg=before)
                for figure in page.evaluate(CHECK_FIGURES_RENDERED):
                    target = figure["target"]
                    figures[target] = (canvas_sizes(page, target), control_count(page, target), figure["hasPlot"])
            styles = page.evaluate(HOST_STYLES)
            violations = page.evaluate("() => window.__cspViolations")
        finally:
            page.close()
        watcher.assert_clean()
    return figures, styles, violations


@pytest.mark.browser
def test_fragment_survives_hostile_host_css(built_fragment, publishing_context, tmp_path, artifacts):
    plain = host_page_layout(publishing_context, make_host(tmp_path / "plain", built_fragment, ""))
    hostile = host_page_layout(publishing_context, make_host(tmp_path / "hostile", built_fragment, HOSTILE_CSS))

    plain_figures, _, plain_violations = plain
    hostile_figures, _, hostile_violations = hostile
    assert plain_violations == []
    assert hostile_violations == []
    assert plain_figures and set(hostile_figures) == set(plain_figures)
    for target, (sizes, controls, has_plot) in plain_figures.items():
        assert sizes or not has_plot, f"{target} drew no canvas"
        assert controls or has_plot, f"{target} rendered no controls"
        assert hostile_figures[target] == (sizes, controls, has_plot), target

    with serve_site(tmp_path / "hostile", "/") as base_url:
        page = publishing_context.new_page()
        page.goto(base_url + "post/")
        wait_for_figures(page)
        page.screenshot(path=str(artifacts / "fragment-hostile-host.png"), full_page=True)
        page.close()


@pytest.mark.browser
def test_fragment_styles_stay_inside(built_fragment, publishing_context, tmp_path):
    for name, css in (("plain", ""), ("hostile", HOSTILE_CSS)):
        with_fragment = host_page_layout(publishing_context, make_host(tmp_path / f"{name}-with", built_fragment, css))
        without = host_page_layout(
            publishing_context, make_host(tmp_path / f"{name}-without", built_fragment, css, include_fragment=False)
        )

        assert with_fragment[1] == without[1], name


# A host page with instant navigation: it loads essay.js once in its layout and
# later replaces #content with a post's HTML, as Turbo, swup or pjax do.
SWAPPING_HOST = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Blog</title>
<link rel="icon" href="data:,">
<script src="{essay_js}" defer></script>
</head>
<body>
<nav>Blog navigation</nav>
<div id="content"><p>The blog's front page, without the essay.</p></div>
</body>
</html>
"""


@pytest.mark.browser
def test_fragment_initialises_after_content_swap(built_fragment, publishing_context, tmp_path):
    folder = make_host(tmp_path / "swap", built_fragment, "")
    essay_js = next((folder / "post" / "assets").glob("essay.*.js")).relative_to(folder / "post").as_posix()
    # Beside the post, so that the fragment's relative asset URLs resolve as in the post.
    (folder / "post" / "front.html").write_text(
        SWAPPING_HOST.format(policy=HOST_POLICY, essay_js=essay_js), encoding="utf-8"
    )
    fragment = (built_fragment / "essay.html").read_text(encoding="utf-8")

    with serve_site(folder, "/") as base_url:
        page = publishing_context.new_page()
        watcher = PageWatcher(page, allowed_origin=base_url[:-1])
        try:
            page.goto(base_url + "post/front.html")
            page.wait_for_function("() => window.essay && window.essay.init")
            for visit in range(2):
                page.evaluate("(html) => { document.getElementById('content').innerHTML = html; }", fragment)
                count = page.locator("script.bokeh-item").count()
                # Figures embed as they near the viewport: scroll to each in turn.
                for target in page.eval_on_selector_all("script.bokeh-item", "(items) => items.map((i) => i.dataset.target)"):
                    page.locator(f"#{target}").scroll_into_view_if_needed()
                    page.wait_for_function(
                        "(target) => document.querySelector(`script.bokeh-item[data-target='${target}']`).dataset.state === 'ready'",
                        arg=target,
                    )
                figures = page.evaluate(CHECK_FIGURES_RENDERED)

                assert count == len(figures) > 0, visit
                for figure in figures:
                    rendered = canvas_sizes(page, figure["target"]) or control_count(page, figure["target"])
                    assert rendered, (visit, figure)
                page.evaluate("() => { document.getElementById('content').innerHTML = '<p>Another post</p>'; }")
            # Some hosts (Turbo) run a new page's scripts again: the second copy must hand over to the first.
            first_api = page.evaluate_handle("() => window.essay")
            page.evaluate(
                """(src) => new Promise((resolve) => {
                    const script = document.createElement('script');
                    script.src = src;
                    script.onload = resolve;
                    document.head.appendChild(script);
                })""",
                essay_js,
            )
            same_api = page.evaluate("(first) => window.essay === first", first_api)
            violations = page.evaluate("() => window.__cspViolations")
            essay_scripts = page.evaluate("() => document.querySelectorAll('script[src*=\"bokeh-3\"]').length")
        finally:
            page.close()
        watcher.assert_clean()

    assert violations == []
    assert essay_scripts == 1
    assert same_api
