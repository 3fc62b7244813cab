"""Validation helpers shared by every config: errors name the field and are raised before compilation;
`FieldErrors` gathers them so that one error names every invalid field."""

from __future__ import annotations

import math
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")


def check_finite(name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> None:
    """A finite real number, optionally within [low, high] ((low, high] when low_open)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and x > high:
        raise ValueError(f"{name}: must be <= {high}, got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: must be one of {', '.join(choices)}; got {value!r}")


class FieldErrors:
    """Collects every invalid field of a configuration, so that one error names them all (a bad env id is
    reported even when the step count is also wrong):

        with FieldErrors() as errors:
            errors.check(check_positive_int, "hidden_size", self.hidden_size)
            errors.require(self.total_steps % self.eval_every == 0, "total_steps: ...")
            spec = errors.check(make_env, self.env_id)      # None if it failed

    Leaving the block raises one ValueError: the single message, or "N invalid fields: a; b; c"."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """fn(*args, **kwargs), or None with its ValueError recorded."""
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            self.messages.append(str(e))
            return None

    def require(self, ok: Any, message: str) -> None:
        if not ok:
            self.messages.append(message)

    def __enter__(self) -> "FieldErrors":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None and self.messages:
            if len(self.messages) == 1:
                raise ValueError(self.messages[0])
            raise ValueError(f"{len(self.messages)} invalid fields: " + "; ".join(self.messages))


def default_eval_every(total_steps: int, default: int, unit: int = 1) -> int:
    """The evaluation interval used when none is given: `default` if it divides `total_steps`, else the largest
    interval total_steps / k (k a whole number) not above `default` that is a whole number of `unit`s (an
    update, a truncation window); if every such interval is under default / 4, the budget itself (one
    evaluation, at the end). Invalid numbers, or a budget that is no whole number of units, return `default`
    unchanged: validation then names the field."""
    if min(total_steps, default, unit) <= 0 or total_steps % default == 0 or total_steps % unit:
        return default
    for k in range(max(1, -(-total_steps // default)), total_steps // unit + 1):
        every = total_steps // k
        if every * 4 < default:
            break
        if total_steps % k == 0 and every % unit == 0:
            return every
    return total_steps


def check_multiple(name: str, value: Any, of_name: str, of: Any) -> None:
    """`value` is a whole multiple of `of` (skipped unless both are positive integers: check_positive_int
    reports those)."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (value, of))
    if ints and value % of:
        raise ValueError(f"{name}: {value} is not a multiple of {of_name} ({of})")


def check_divides(total_steps: Any, eval_every: Any) -> None:
    """total_steps is a whole number of evaluation intervals."""
    check_multiple("total_steps", total_steps, "eval_every", eval_every)
