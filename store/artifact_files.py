"""The artifact file store: each file's content once, under <root>/<sha256>.

The root is RUNBELL_ARTIFACTS when set (a team sharing one PostgreSQL database points every
machine at one shared folder), else data_dir()/artifacts.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from store import artifact_entities as ae
from store.db import data_dir

_CHUNK = 1 << 20


ROOT_ENV = "RUNBELL_ARTIFACTS"


def store_root() -> Path:
    configured = os.environ.get(ROOT_ENV)
    root = Path(configured).expanduser() if configured else data_dir() / "artifacts"
    root.mkdir(parents=True, exist_ok=True)
    return root


def blob_path(digest: str) -> Path:
    """Where the content with this sha256 digest is kept."""
    return store_root() / digest


def _walk(source: Path) -> list[tuple[str, Path]]:
    if source.is_file():
        return [(source.name, source)]
    if not source.is_dir():
        raise FileNotFoundError(f"no file or folder {source}")
    found = [(p.relative_to(source).as_posix(), p) for p in source.rglob("*") if p.is_file()]
    if not found:
        raise ValueError(f"folder {source} holds no files")
    return sorted(found)


def _store_one(path: Path, root: Path) -> tuple[str, int]:
    """Hash while copying into a temporary file, then move it into place under its digest."""
    sha = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            while chunk := src.read(_CHUNK):
                sha.update(chunk)
                out.write(chunk)
                size += len(chunk)
        digest = sha.hexdigest()
        target = root / digest
        if target.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
        return digest, size
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def store_files(path_or_dir: str | os.PathLike[str]) -> list[ae.ArtifactFile]:
    """Copy a file, or every file under a folder, into the store; their paths, digests and sizes."""
    root = store_root()
    return [ae.ArtifactFile(rel, *_store_one(p, root)) for rel, p in _walk(Path(path_or_dir))]
