"""``python -m runstate.testing responses URL``: survey a Responses server in one command.

Prints the report's summary and its reach table; exits 1 when a divergence graded
``error`` is found (not accepted), 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._response_rules import RESPONSE_RULES
from ._responses_http import ADVANCE_PATH, survey_responses_url


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, survey, print; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m runstate.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    survey = commands.add_parser("responses", help="survey a Responses server's URL")
    survey.add_argument("url", help="the base URL the openai SDK takes, e.g. http://host/v1")
    survey.add_argument("--seed", type=int, default=None)
    survey.add_argument("--max-examples", type=int, default=None)
    survey.add_argument(
        "--advance-path",
        default=ADVANCE_PATH,
        help="the worker hook, with {id} (default: %(default)s); 'none' for no worker",
    )
    survey.add_argument(
        "--accept", action="append", default=[], choices=sorted(RESPONSE_RULES), metavar="RULE"
    )
    survey.add_argument("--api-key", default="runstate-conformance")
    args = parser.parse_args(argv)
    advance = None if args.advance_path == "none" else args.advance_path
    report = survey_responses_url(
        args.url,
        advance_path=advance,
        api_key=args.api_key,
        seed=args.seed,
        max_examples=args.max_examples,
        accept=args.accept,
    )
    print(report.summary())
    print(report.reach_table())
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover - run as a module
    sys.exit(main())
