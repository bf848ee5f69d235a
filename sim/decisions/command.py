"""`resilience what-it-takes FILE --target T --probability P (--lever NAME | --levers A,B)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import BadInput, ConfigError

WHAT_IT_TAKES_JSON = "what_it_takes.json"


def add_parser(sub: argparse._SubParsersAction) -> None:
    wit = sub.add_parser("what-it-takes",
                         help="least amount of a scalable lever reaching a target by its date with a probability")
    wit.add_argument("file", help="experiment file with a levers: block")
    wit.add_argument("--target", required=True, help="a target with a `by` date")
    wit.add_argument("--probability", type=float, default=0.9, help="required P(target by its date) (default 0.9)")
    group = wit.add_mutually_exclusive_group(required=True)
    group.add_argument("--lever", help="one scalable lever")
    group.add_argument("--levers", help="several scalable levers A,B,...: the cheapest combination")
    wit.add_argument("--out", help="results directory (default: results/<experiment name>)")
    wit.add_argument("--workers", type=int)
    wit.add_argument("--scheduler")
    wit.add_argument("--seed", type=int)
    wit.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    wit.add_argument("--initial", type=int, default=10, help="replications at a new amount (default 10)")
    wit.add_argument("--batch", type=int, default=10, help="replications added when unsure (default 10)")
    wit.add_argument("--max-replications", type=int, default=80,
                     help="most replications at one amount, after which it is undecided (default 80)")


def cmd_what_it_takes(args: argparse.Namespace, load_experiment: Callable[..., Any]) -> int:
    """`load_experiment` comes from the front door (sim.cli), as for `resilience calibrate`."""
    from sim.decisions.charts import what_it_takes_chart
    from sim.decisions.what_it_takes import answer_sentences, what_it_takes
    from sim.runs.atomic import atomic_write_json

    for flag, value in (("--initial", args.initial), ("--batch", args.batch),
                        ("--max-replications", args.max_replications), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise ConfigError.at(flag, "", value, "a whole number >= 1")
    check_out_arg(args.out)
    levers = [args.lever.strip()] if args.lever is not None else [n.strip() for n in args.levers.split(",")]
    if not all(levers):
        flag = "--lever" if args.lever is not None else "--levers"
        raise ConfigError.at(flag, "", args.lever if args.lever is not None else args.levers,
                             "a lever name of the experiment (--levers: names separated by commas)")
    if args.max_replications < args.initial:
        raise ConfigError.at("--max-replications", "", args.max_replications, f">= --initial ({args.initial})")
    exp = load_experiment(args.file, args.set, seed=args.seed)
    out = Path(args.out) if args.out else Path("results") / exp.name
    answer = what_it_takes(exp, levers, args.target, args.probability, out, initial=args.initial,
                           batch=args.batch, maximum=args.max_replications, workers=args.workers,
                           scheduler=args.scheduler)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / WHAT_IT_TAKES_JSON, answer)
    chart = what_it_takes_chart(answer, out / "charts" / "what_it_takes.png")
    print("\n".join(answer_sentences(answer)))
    print(f"{answer['runs']} runs; wrote {out / WHAT_IT_TAKES_JSON} and {chart}")
    return 0


def check_out_arg(out: str | None) -> None:
    """`--out` names a folder (new or existing), never an existing file."""
    if out is not None and (not out.strip() or (Path(out).exists() and not Path(out).is_dir())):
        raise BadInput(f"--out {out!r}: is a file, not a folder" if out.strip() else "--out '': give a folder")


def summary_line(answer: dict, name: Callable[[str], str] = str) -> str:
    """The answer's first sentence (the amount, or why there is none); see `answer_sentences`."""
    from sim.decisions.what_it_takes import answer_sentences

    return answer_sentences(answer, name)[0]
