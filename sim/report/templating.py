"""The one Jinja2 environment of every HTML page and section: templates in sim/report/templates, autoescaping
on (every value from the results is escaped by Jinja2, none by hand), undefined names an error; images are
inlined as data URIs."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from sim.report.labels import readable_value

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["readable"] = readable_value
    return env


def render(template: str, **context: Any) -> str:
    return str(environment().get_template(template).render(**context))


def data_uri(path: Path) -> str:
    """A PNG inlined into the page, so that the page has no external resource."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
