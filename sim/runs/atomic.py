"""Durable writes: every file the package puts under a final name goes through `atomic_write`, except the files of
a run's directory, which the run storage renames into place as a whole (sim.runs.storage: not fsynced, checked
against their recorded SHA-256 before a run is reused).

The content is written to a temporary name starting with `TMP_PREFIX` in the same directory, flushed and fsynced,
then `os.replace`d onto the final name, and the directory is fsynced. A reader therefore sees either the old
complete file, the new complete file or no file, never a partial one, even after a SIGKILL or a power cut;
leftover temporaries are removed by `clean_temporaries`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"
"""Names starting with this prefix are temporaries: never read, removed when a runner starts."""


def to_json_value(value: Any) -> Any:
    """JSON encoding of the non-JSON values a resolved scenario may hold (dates, numpy scalars, sets, paths)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a spec hash: {value!r}")


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename inside it survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(final: Path) -> Path:
    """A fresh temporary name next to `final` (same directory, so os.replace is atomic)."""
    return final.with_name(f"{TMP_PREFIX}{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def atomic_write(final: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` to write a temporary file, fsync it and rename it onto `final`."""
    tmp = temp_path(final)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None or str(exc.filename) == str(tmp):  # name the file the user knows
            raise OSError(exc.errno, exc.strerror or str(exc), str(final)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write `data` to `final` atomically."""
    atomic_write(final, lambda tmp: tmp.write_bytes(data))


def json_safe(value: Any) -> Any:
    """`value` with NaN/inf floats replaced by None and non-JSON scalars converted (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return json_safe(to_json_value(value))


def atomic_write_json(final: Path, value: Any, *, strict: bool = True) -> None:
    """Write `value` as indented JSON to `final` atomically.

    With `strict`, NaN and infinities become null so that any JSON reader accepts the file; without it
    they are written as Python's `NaN`/`Infinity` tokens so that floats round-trip exactly.
    """
    payload = json_safe(value) if strict else value
    text = json.dumps(payload, indent=2, allow_nan=not strict, default=to_json_value, ensure_ascii=False)
    atomic_write_bytes(final, (text + "\n").encode("utf-8"))


def clean_temporaries(*directories: Path) -> int:
    """Remove leftover temporaries (files or directories named `TMP_PREFIX*`); return how many."""
    removed = 0
    for directory in directories:
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if not entry.name.startswith(TMP_PREFIX):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed
