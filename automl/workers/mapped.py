"""Pickles whose arrays live in a memory-mapped file: written once by the parent, shared by every worker.

:func:`dump` pickles an object with protocol 5 and writes the raw memory of
its arrays (numpy arrays, the numeric blocks of a DataFrame, Arrow buffers)
out of band, into a second file beside the pickle. :func:`load` maps that file
read-only and rebuilds the object around it, so the arrays of every worker that
loads the same problem are the same pages of the page cache rather than one
private copy per worker. The arrays are read-only: a worker that needs to
change one must copy it, which pandas and scikit-learn do anyway when a fold
is taken (``X.iloc[train]``).
"""

from __future__ import annotations

import json
import mmap
import pickle
from pathlib import Path
from typing import Any

import cloudpickle

#: buffers start on this boundary, as numpy prefers
_ALIGN = 64


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + ".buffers"), path.with_name(path.name + ".spans")


def dump(obj: Any, path: Path) -> int:
    """Pickle ``obj`` (cloudpickle, protocol 5) to ``path`` and its arrays to a sidecar; return the bytes written."""
    buffers: list[pickle.PickleBuffer] = []
    with open(path, "wb") as fh:
        cloudpickle.dump(obj, fh, protocol=5, buffer_callback=buffers.append)
    data_path, spans_path = _sidecars(path)
    spans = []
    with open(data_path, "wb") as fh:
        for buf in buffers:
            raw = buf.raw()
            fh.write(b"\0" * (-fh.tell() % _ALIGN))
            spans.append((fh.tell(), raw.nbytes))
            fh.write(raw)
        size = fh.tell()
    spans_path.write_text(json.dumps(spans))
    return path.stat().st_size + size


def load(path: Path) -> Any:
    """The object :func:`dump` wrote to ``path``, its arrays mapped read-only from the sidecar file."""
    data_path, spans_path = _sidecars(path)
    spans = json.loads(spans_path.read_text())
    view = memoryview(b"")
    if data_path.stat().st_size:
        with open(data_path, "rb") as fh:
            view = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    with open(path, "rb") as fh:
        return pickle.load(fh, buffers=[view[start : start + n] for start, n in spans])


def remove(path: Path) -> None:
    """Delete the pickle and its sidecars (a worker that mapped them keeps its pages until it lets go)."""
    for p in (path, *_sidecars(path)):
        p.unlink(missing_ok=True)


__all__ = ["dump", "load", "remove"]
