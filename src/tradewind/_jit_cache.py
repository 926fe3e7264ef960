"""Drop numba's on-disk kernel caches when any compiled source of the package has changed.

numba keys a cached kernel on its own file's timestamp only. A kernel that calls a jitted
function from another module keeps its stale machine code after that callee changes (an update
of the checkout, say), and then computes with the old rules or fails on a changed signature. The
package therefore stamps a digest of every module that uses numba; when the digest changes, every
``.nbi``/``.nbc`` file under the package is removed and numba recompiles on first use.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_STAMP = _ROOT / "__pycache__" / "jit-sources.sha256"


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_ROOT.rglob("*.py")):
        text = path.read_bytes()
        if b"numba" in text:
            digest.update(str(path.relative_to(_ROOT)).encode())
            digest.update(hashlib.sha256(text).digest())
    return digest.hexdigest()


def refresh_stale_kernel_caches() -> bool:
    """Remove the package's numba caches when its compiled sources changed; True if removed.

    Best effort: an install whose folders are read-only keeps what it has (its sources cannot
    change without a reinstall, which clears the caches with the files).
    """
    digest = _sources_digest()
    try:
        if _STAMP.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for cached in [*_ROOT.rglob("*.nbi"), *_ROOT.rglob("*.nbc")]:
            cached.unlink(missing_ok=True)
        _STAMP.parent.mkdir(exist_ok=True)
        tmp = _STAMP.with_suffix(".tmp")
        tmp.write_text(digest)
        tmp.replace(_STAMP)
    except OSError:
        return False
    return True
