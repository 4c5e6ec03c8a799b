"""``nnstudio grad EXPR --at x=2 [--json]``: value, gradient and symbolic derivative of an expression."""

from __future__ import annotations

import json
import math

from nnstudio.core.autograd.expr import ExprError, parse

from .args import CLIError


def register(sub) -> None:
    p = sub.add_parser(
        "grad",
        help="differentiate an expression (autograd and symbolic)",
        description="Evaluate EXPR and its derivatives at a point, e.g. nnstudio grad 'x**2 + 3*x + 5' --at x=2",
    )
    p.add_argument("expression", metavar="EXPR", help="e.g. 'x**2 + 3*x + 5', 'sigmoid(w*x + b)'")
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a variable; repeat or separate with commas: --at x=1,w=2",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def parse_point(items: list[str]) -> dict[str, float]:
    point: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            name, eq, text = part.partition("=")
            name = name.strip()
            if not eq or not name:
                raise CLIError(f"--at expects NAME=VALUE, got {part.strip()!r}")
            try:
                number = float(text)
            except ValueError:
                raise CLIError(f"--at {name}: {text.strip()!r} is not a number") from None
            if not math.isfinite(number):
                raise CLIError(f"--at {name}: the value must be a finite number")
            point[name] = number
    return point


def run(args) -> int:
    try:
        expression = parse(args.expression)
    except ExprError as exc:
        raise CLIError(str(exc)) from None
    point = parse_point(args.at)
    missing = [v for v in expression.variables if v not in point]
    if missing:
        raise CLIError(
            f"give a value for {', '.join(missing)} with --at, "
            f"e.g. --at {','.join(f'{v}=1' for v in expression.variables)}"
        )
    extra = [k for k in point if k not in expression.variables]
    if extra:
        raise CLIError(f"--at names {', '.join(extra)}, which the expression does not use")
    try:
        graph = expression.graph(**point)
        graph.check_finite()
        gradient = graph.gradient()
        derivative = {v: expression.derivative(v) for v in expression.variables}
    except ExprError as exc:
        raise CLIError(str(exc)) from None
    for v, g in gradient.items():
        if not math.isfinite(g):
            raise CLIError(f"the derivative with respect to {v} is not finite at this point")
    y = expression.output
    if args.json:
        print(
            json.dumps(
                {
                    "expression": args.expression,
                    "value": graph.value,
                    "gradient": gradient,
                    "derivative": derivative,
                    "at": point,
                }
            )
        )
        return 0
    at = ", ".join(f"{k} = {v:g}" for k, v in point.items())
    print(f"{y} = {expression}" + (f"   at {at}" if at else ""))
    print(f"{y} = {graph.value:.10g}")
    for v in expression.variables:
        print(f"d{y}/d{v} = {gradient[v]:.10g}   (d{y}/d{v} = {derivative[v]})")
    return 0
