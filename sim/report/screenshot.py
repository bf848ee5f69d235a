"""A picture of the report as a browser shows it: headless Chromium renders report.html to report.png."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 4000, timeout_s: float = 120.0) -> Path:
    """Render `html` (a local file) to `png`; raises RuntimeError when no browser is installed or it fails."""
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no Chromium found: install the Debian package 'chromium' to take screenshots")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png.resolve()}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"Chromium could not render {html}: {done.stderr.strip()[-300:]}")
    return png
