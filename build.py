#!/usr/bin/env python3
"""Build the essay: ``python build.py`` (or ``build``, ``serve``, ``check``; ``--help`` lists options)."""

import sys

from essaygen.cli import main

if __name__ == "__main__":
    sys.exit(main())
