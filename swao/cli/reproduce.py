"""``swao reproduce``: every result of the book at one scale (:func:`swao.book.reproduce.reproduce`),
or with ``--plan`` its estimated time (:mod:`swao.book.plan`)."""
from __future__ import annotations

import argparse
import sys

from swao.book.plan import format_plan, plan
from swao.book.reproduce import BUDGET_MINUTES, STAGES, reproduce, run_config
from swao.training.config import SCALES, Config


def _overrides(pairs: list[str]) -> dict:
    """``["key=value", ...]`` -> config overrides, typed as the config's fields (a whole float
    such as ``2.0`` becomes ``2``, as the configs write it, so that cache keys match)."""
    fields = Config.__dataclass_fields__
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields or key == "scale":
            allowed = sorted(set(fields) - {"scale"})
            raise ValueError(f"--set takes key=value with key among {allowed}, got {pair!r}")
        kind = int if fields[key].type in ("int", int) else float
        try:
            out[key] = kind(value)
        except ValueError:
            raise ValueError(f"--set {key} must be {'an int' if kind is int else 'a number'}, got {value!r}") from None
        if kind is float and out[key].is_integer():
            out[key] = int(out[key])
    return out


def cli_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swao reproduce", description=reproduce.__doc__)
    parser.add_argument("--scale", default="small", choices=SCALES)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), choices=STAGES)
    parser.add_argument("--full", action="store_true", help="paper scale: the paper's sizes, not trimmed to 10 minutes")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="change a size, e.g. search_steps=3000")
    parser.add_argument("--plan", action="store_true", help="measure a few steps, print the estimated time, stop")
    parser.add_argument("--fit", action="store_true",
                        help="plan first; if the run would overrun the budget, train on fewer MLPs and search fewer steps")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help=f"the budget of --plan and --fit (default: {BUDGET_MINUTES:g} at paper scale or with --fit)")
    parser.add_argument("--results-dir", default=None, help="where to export (default: $SWAO_RESULTS or results/, then <scale>)")
    parser.add_argument("--no-export", action="store_true", help="only fill the cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs)")
    args = parser.parse_args(argv)
    try:
        overrides = _overrides(args.set)
        minutes = args.budget_minutes
        if minutes is not None and not (args.plan or args.fit):
            raise ValueError("--budget-minutes needs --plan or --fit")
        if minutes is None and (args.scale == "paper" or args.fit):
            minutes = BUDGET_MINUTES
        if minutes is not None and not minutes > 0:
            raise ValueError(f"--budget-minutes must be > 0, got {minutes}")
        if args.plan:
            config = run_config(args.scale, args.full, **overrides)
            print(config.describe())
            print(format_plan(plan(config, args.device, args.stages, None if minutes is None else minutes * 60)))
            return 0
        reproduce(args.scale, args.device, args.stages, export=False if args.no_export else args.results_dir or True,
                  full=args.full, fit_budget_s=minutes * 60 if args.fit else None,
                  progress=not args.no_progress, **overrides)
    except ValueError as err:
        print(f"swao reproduce: {err}", file=sys.stderr)
        return 2
    return 0
