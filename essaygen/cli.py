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
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    verbosity.add_argument(
        "-v", "--verbose", "--debug", dest="verbose", action="store_true",
        help="print every file and full tracebacks",
    )
    return parser


def configure_logging(quiet: bool, verbose: bool) -> None:
    """Send the build's log lines to stderr at the chosen level."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = make_parser().parse_args(argv)
    configure_logging(args.quiet, args.verbose)

    from .pipeline import ProjectPaths, build

    paths = ProjectPaths.under(args.root, content=args.content, out=args.out)
    try:
        if args.command == "build":
            build(paths)
        else:
            log.error("the %s command is not available yet", args.command)
            return EXIT_USAGE
    except BuildError as error:
        if args.verbose:
            log.exception("build failed")
        log.error("error: %s", error)
        log.error("build failed; %s was left unchanged", paths.out)
        return EXIT_BUILD_ERROR
    return EXIT_OK
