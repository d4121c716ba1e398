"""Stage 5: write the site into a temporary folder and swap it into place.

The new site is built beside the output folder (so the final rename stays on
one file system) and replaces the old one only when everything was written.
A failed build therefore leaves the previous site exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from .errors import BuildError

HASH_LENGTH = 10


def content_hash(data: bytes) -> str:
    """Return a short hex digest used in cache-busting asset names."""
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def hashed_name(relative: str, data: bytes) -> str:
    """Insert the content hash before the extension: ``essay.css`` gives ``essay.3f2a….css``."""
    path = PurePosixPath(relative)
    return str(path.with_name(f"{path.stem}.{content_hash(data)}{path.suffix}"))


class SiteWriter:
    """Collects the files of one build in a staging folder, then publishes them."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir).absolute()
        parent = self.out_dir.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}-", dir=parent))
        except OSError as error:
            raise BuildError(
                f"cannot write the output folder: {error.strerror or error}",
                path=self.out_dir,
                hint="choose a writable location with --out DIR",
            ) from None
        self.files: dict[str, int] = {}

    def write_bytes(self, relative: str, data: bytes) -> str:
        """Write ``data`` to ``relative`` inside the site and return that path."""
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.files[relative] = len(data)
        return relative

    def write_text(self, relative: str, text: str) -> str:
        return self.write_bytes(relative, text.encode("utf-8"))

    def write_hashed(self, relative: str, data: bytes) -> str:
        """Write ``data`` under a content-hashed name and return that name."""
        return self.write_bytes(hashed_name(relative, data), data)

    def publish(self) -> None:
        """Swap the staging folder in for the output folder."""
        backup = None
        try:
            if self.out_dir.exists():
                backup = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}-old-", dir=self.out_dir.parent))
                os.replace(self.out_dir, backup / "site")
            os.replace(self.staging, self.out_dir)
        except OSError as error:
            if backup is not None and (backup / "site").exists() and not self.out_dir.exists():
                os.replace(backup / "site", self.out_dir)
            self.discard()
            raise BuildError(
                f"cannot replace the output folder: {error.strerror or error}",
                path=self.out_dir,
                hint="check that no other program holds it open, or choose --out DIR",
            ) from None
        finally:
            if backup is not None:
                shutil.rmtree(backup, ignore_errors=True)
        # mkdtemp creates the folder private to its owner; a site is for everyone to read.
        self.out_dir.chmod(0o755)

    def discard(self) -> None:
        """Remove the staging folder after a failed build."""
        shutil.rmtree(self.staging, ignore_errors=True)
