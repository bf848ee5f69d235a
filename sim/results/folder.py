"""Reading a results folder safely: a missing, truncated or corrupted file is one ResultsError line naming the file
and how to rewrite it, never a traceback from pyarrow or json; and refusing to write results over a folder of
someone's own files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.errors import BadInput, ResultsError
from sim.runs.atomic import TMP_PREFIX


def read_results_json(path: Path, what: str = "a results file") -> Any:
    """JSON read from a results folder; a missing, truncated or corrupted file is a ResultsError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing: is {Path(path).parent} {what}?") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): the file is "
                           "corrupted or truncated; run the same 'resilience run' command again to rewrite it")\
            from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.__class__.__name__}): the file is corrupted") from None


def read_results_table(path: Path) -> Any:
    """A Parquet table of a results folder; a truncated or corrupted file is a ResultsError saying how to
    rewrite it (rerunning the same command reuses the finished runs and rewrites the combined tables)."""
    import pandas as pd
    import pyarrow

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing: is {Path(path).parent} a folder written by 'resilience run'?") from None
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise unreadable(path, exc) from None


def check_results_folder(out: Path) -> None:
    """Read manifest.json and the Parquet footer of every table of the folder (the combined tables, the summary,
    a study's design and sensitivity tables): a truncated or corrupted file is a ResultsError at once, before
    any chart is drawn or file written, so no new report stands beside an unreadable table (cheap: footers)."""
    import pyarrow
    import pyarrow.parquet as pq

    if (out / "manifest.json").exists():
        manifest = read_results_json(out / "manifest.json", "a results directory")
        if not isinstance(manifest, dict):
            raise ResultsError(f"{out / 'manifest.json'}: not a manifest written by 'resilience run' (a JSON object)")
    for path in sorted(out.glob("*.parquet")):  # the combined tables and the studies' (design, sensitivity, summary)
        try:
            pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            raise unreadable(path, exc) from None


def unreadable(path: Path, exc: Exception) -> ResultsError:
    """A Parquet file pyarrow cannot read, told in one line with the first words of pyarrow's reason."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    first = text.split(". ")[0].split(": ")[-1]
    return ResultsError(f"{path}: cannot be read ({first[:120]}): the file is truncated or corrupted; run the same "
                        "'resilience run' command again to rewrite it from the stored runs")


def check_out_dir(out: Path) -> None:
    """Refuse to write results into a folder of the user's own files: results go into a new or empty
    folder, or into a results folder written before (which is then resumed and updated)."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: is a file, not a folder")
    if not out.is_dir():
        return
    entries = [p.name for p in out.iterdir() if p.name != ".lock" and not (p.name == "runs" and _only_runs(p))]
    if not entries:  # empty, or a run killed before it wrote its manifest: resumable
        return
    manifest = out / "manifest.json"
    if not manifest.is_file():
        shown = ", ".join(sorted(entries)[:4]) + (", ..." if len(entries) > 4 else "")
        raise BadInput(f"--out {out}: holds files that are not results of 'resilience run' ({shown}; no "
                       "manifest.json): give a new or empty folder, so that none of them is replaced")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # ours but damaged (the runner rewrites it)
    if not isinstance(data, dict) or "runs" not in data:
        raise BadInput(f"--out {out}: its manifest.json was not written by 'resilience run': give a new or empty "
                       "folder")


def _only_runs(runs: Path) -> bool:
    """A `runs/` folder holding nothing but stored runs (each with its run.json) and our temporaries."""
    return runs.is_dir() and all(p.name.startswith(TMP_PREFIX) or (p / "run.json").is_file() for p in runs.iterdir())
