"""Command line: ``python build.py [build|serve|check] [options]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import BuildError

log = logging.getLogger("essaygen")

EXIT_OK = 0
EXIT_BUILD_ERROR = 1
EXIT_USAGE = 2


def make_parser() -> argparse.ArgumentParser:
    """Create the argument parser with the build, serve and check commands."""
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build the interactive essay from content/ into a static site.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="build",
        choices=["build", "serve", "check"],
        help="build the site (default), serve it with live reload, or check it for problems",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    parser.add_argument("--content", type=Path, help="folder of Markdown sections (default: ROOT/content)")
    parser.add_argument("--out", type=Path, help="output folder for the site (default: ROOT/site)")
    serving = parser.add_argument_group("serve options")
    serving.add_argument(
        "--port", type=port_number, default=8000,
        help="TCP port the preview listens on (default: 8000; 0 picks a free port)",
    )
    serving.add_argument(
        "--host", default="127.0.0.1",
        help="address the preview listens on (default: 127.0.0.1, reachable from this machine only)",
    )
    embedding = parser.add_argument_group("fragment options")
    embedding.add_argument(
        "--fragment", "--embed", dest="fragment", action="store_true",
        help="build the essay as an HTML fragment for a blog post: OUT/essay.html and OUT/assets/ "
        "(default OUT: ROOT/site-fragment; see docs/publishing.md)",
    )
    embedding.add_argument(
        "--asset-base", default="assets/", metavar="URL",
        help="URL of the fragment's assets folder as the blog serves it, ending with / "
        "(default: assets/, next to the post)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    verbosity.add_argument(
        "-v", "--verbose", "--debug", dest="verbose", action="store_true",
        help="print every file and full tracebacks",
    )
    return parser


def port_number(text: str) -> int:
    """Parse a TCP port for ``--port``."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: use a number from 0 to 65535")
    return port


def configure_logging(quiet: bool, verbose: bool) -> None:
    """Send the build's log lines to stderr at the chosen level."""
    level = logging.INFO
    if quiet:
        level = logging.WARNING
    elif verbose:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = make_parser().parse_args(argv)
    configure_logging(args.quiet, args.verbose)

    from .fragment import FRAGMENT_OUT_DIR, FragmentOptions
    from .pipeline import ProjectPaths, build

    out = args.out or (args.root / FRAGMENT_OUT_DIR if args.fragment else None)
    paths = ProjectPaths.under(args.root, content=args.content, out=out)
    try:
        if args.command == "build":
            fragment = FragmentOptions(asset_base=args.asset_base) if args.fragment else None
            build(paths, fragment=fragment)
        elif args.fragment:
            log.error("error: --fragment applies to the build command only, not %s", args.command)
            return EXIT_USAGE
        elif args.command == "serve":
            from .serve import serve

            # Only a real command line can be started again after a code change.
            restart = [sys.executable, *sys.orig_argv[1:]] if argv is None else None
            return serve(paths, host=args.host, port=args.port, restart_argv=restart)
        else:
            from .check import run_check

            return run_check(paths)
    except BuildError as error:
        if args.verbose:
            log.exception("build failed")
        log.error("error: %s", error)
        log.error("build failed; %s was left unchanged", paths.out)
        return EXIT_BUILD_ERROR
    return EXIT_OK
