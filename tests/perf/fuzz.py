"""Random server answers fed to the response parser: it must answer a value or an ApiError.

Inputs come from a seeded generator, so a run is repeatable: near-misses of real answers
(``OK``/``ERR``/``Credit`` lines with odd spacing, case, separators, line breaks, zero-padded,
huge or non-ASCII numbers), HTML pages, random text and byte noise, mutations of valid
answers, and odd HTTP statuses. A *crash* is any other exception or a value of the wrong
type; an *anomaly* is an accepted value that a person would not expect (a non-finite credit,
a number read from non-ASCII digits, a session token of absurd length).
"""

from __future__ import annotations

import math
import random
import string
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tray_app.core.protocol import ApiError, Command, parse_balance_answer, parse_session_answer

STATUSES = (200,) * 12 + (201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503, 504, 0, 999)
BREAKS = ("\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\n\n", " \r\n\t")
SPACES = ("", " ", "  ", "\t", "\u00a0", "\u3000", " \t ")
ODD_DIGITS = "\u0660\u0661\u0662\u0663\u06f1\u0967\uff11\uff12\U0001d7ce"
PREFIXES = (
    "OK",
    "ok",
    "Ok",
    "OK:",
    "OK :",
    "OK: ",
    "OKAY:",
    "OK-",
    "ERR",
    "ERR:",
    "err:",
    "Err :",
    "ERROR:",
    "ERR;",
    "Credit:",
    "Credits:",
    "credit :",
    "CREDITS:",
    "Credit",
    "Balance:",
    "",
    "<html>",
    "<!DOCTYPE html>",
    "{",
    "ID:",
    "\ufeffOK:",
    "\ufeffERR:",
)
MAX_EXAMPLES = 5
SLOW_SECONDS = 0.05
MAX_TOKEN = 64


@dataclass
class FuzzResult:
    inputs: int = 0
    crashes: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    crash_kinds: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    slowest_ms: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "crashes": self.crashes,
            "crash_kinds": dict(self.crash_kinds),
            "anomalies": sum(self.anomalies.values()),
            "anomaly_kinds": dict(self.anomalies),
            "examples": self.examples,
            "slowest_parse_ms": self.slowest_ms,
            "seconds": self.seconds,
        }


class AnswerGenerator:
    """Server answers, each a (body, status) pair, from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._makers: list[Callable[[], str]] = [
            self.near_miss,
            self.near_miss,
            self.near_miss,
            self.multi_line,
            self.mutated,
            self.html,
            self.text,
            self.noise,
        ]

    def answer(self) -> tuple[str, int]:
        return self.rng.choice(self._makers)(), self.rng.choice(STATUSES)

    def number(self) -> str:
        rng = self.rng
        pick = rng.randrange(12)
        if pick == 0:
            return "0" * rng.randint(1, 12) + str(rng.randint(0, 999))
        if pick == 1:
            return str(rng.randint(0, 9)) * rng.choice((40, 400, 4301, 5000))
        if pick == 2:
            return "".join(rng.choices(ODD_DIGITS, k=rng.randint(1, 4)))
        if pick == 3:
            return rng.choice(("nan", "inf", "-inf", "1e309", "1_000", "0x1f", "-0", "+5", ".5"))
        if pick == 4:
            return f"{rng.uniform(-1e6, 1e9):.{rng.randint(0, 6)}f}"
        return str(rng.randint(0, 999)).zfill(rng.randint(1, 3))

    def token(self) -> str:
        rng = self.rng
        pick = rng.randrange(8)
        if pick == 0:
            return ""
        if pick == 1:
            return "".join(rng.choices("0123456789abcdef", k=32))
        if pick == 2:
            return "".join(rng.choices(string.hexdigits, k=rng.choice((1, 31, 33, 64, 5000))))
        if pick == 3:
            return "".join(rng.choices(string.printable, k=rng.randint(1, 40)))
        if pick == 4:
            return self.number()
        if pick == 5:
            return "".join(chr(rng.randint(0x80, 0x2FFF)) for _ in range(rng.randint(1, 12)))
        return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 48)))

    def near_miss(self) -> str:
        rng = self.rng
        prefix = rng.choice(PREFIXES)
        parts = [rng.choice(SPACES), prefix, rng.choice(SPACES)]
        if prefix.lower().startswith("err") or rng.random() < 0.2:
            parts += [self.number(), rng.choice(("", ",", ", ", " ,", ";", ":")), self.text()]
        else:
            parts += [rng.choice((self.token, self.number))(), rng.choice(SPACES)]
        if rng.random() < 0.3:
            parts.append(rng.choice(BREAKS))
        return "".join(parts)

    def multi_line(self) -> str:
        rng = self.rng
        lines = [rng.choice(("", " ", "\t", self.near_miss())) for _ in range(rng.randint(1, 5))]
        return rng.choice(BREAKS).join(lines)

    def mutated(self) -> str:
        rng = self.rng
        valid = rng.choice(
            (
                "OK: " + "".join(rng.choices("0123456789abcdef", k=32)),
                "OK:",
                "ERR: 003, Session ID expired",
                "ERR: 001, Authentication failed",
                "Credit: 42.50",
                "Credits: 7",
            )
        )
        chars = list(valid + "\n")
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars) + 1)
            action = rng.randrange(3)
            if action == 0 and chars:
                del chars[min(at, len(chars) - 1)]
            elif action == 1:
                chars.insert(at, chr(rng.choice((rng.randint(0, 127), rng.randint(0, 0x10FFFF)))))
            elif chars:
                chars[min(at, len(chars) - 1)] = rng.choice(string.printable)
        return "".join(chars).encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    def html(self) -> str:
        title = self.rng.choice(("502 Bad Gateway", "Just a moment...", "Maintenance", ""))
        return f"<html><head><title>{title}</title></head><body>{self.text()}</body></html>"

    def text(self) -> str:
        rng = self.rng
        alphabet = rng.choice((string.printable, string.ascii_letters + " ", "ÄÖÜßéñ中文 ✓"))
        return "".join(rng.choices(alphabet, k=rng.choice((0, 5, 30, 200))))

    def noise(self) -> str:
        size = self.rng.choice((0, 1, 16, 256, 4096))
        return self.rng.randbytes(size).decode(self.rng.choice(("utf-8", "latin-1")), "replace")


def run(inputs: int, seed: int = 2024) -> FuzzResult:
    """Feed ``inputs`` answers to each of the three parses (auth, ping, balance) in turn."""
    generator = AnswerGenerator(seed)
    result = FuzzResult()
    parsers: tuple[tuple[str, Callable[[str, int], object]], ...] = (
        ("auth", lambda body, status: parse_session_answer(Command.AUTH, body, status)),
        (
            "ping",
            lambda body, status: parse_session_answer(
                Command.PING, body, status, sent_session_id="0" * 32
            ),
        ),
        ("balance", parse_balance_answer),
    )
    started = time.perf_counter()
    for index in range(inputs):
        body, status = generator.answer()
        name, parse = parsers[index % len(parsers)]
        result.inputs += 1
        before = time.perf_counter()
        try:
            value = parse(body, status)
        except ApiError as error:
            if not isinstance(error.raw, str) or not str(error):
                _crash(result, name, body, f"ApiError without text: {error!r}")
            elif error.code is not None and _odd_digits(body):
                result.anomalies["number from non-ASCII digits"] += 1
            value = None
        except Exception as error:
            _crash(result, name, body, f"{type(error).__name__}: {error}")
            continue
        finally:
            spent = time.perf_counter() - before
            result.slowest_ms = max(result.slowest_ms, spent * 1000)
        if spent > SLOW_SECONDS:
            result.anomalies["slow parse"] += 1
        if value is not None:
            _check_value(result, name, body, value)
    result.seconds = time.perf_counter() - started
    return result


def _check_value(result: FuzzResult, name: str, body: str, value: object) -> None:
    if name == "balance":
        if not isinstance(value, float):
            _crash(result, name, body, f"returned {type(value).__name__}, not float")
        elif not math.isfinite(value):
            result.anomalies["non-finite credit"] += 1
        elif _odd_digits(body):
            result.anomalies["number from non-ASCII digits"] += 1
        return
    if not isinstance(value, str) or not value:
        _crash(result, name, body, f"returned {value!r}, not a session ID")
    elif len(value) > MAX_TOKEN:
        result.anomalies[f"session token over {MAX_TOKEN} characters"] += 1


def _odd_digits(body: str) -> bool:
    return any(ch.isdigit() and not ch.isascii() for ch in body)


def _crash(result: FuzzResult, name: str, body: str, what: str) -> None:
    result.crashes += 1
    kind = what.split(":", 1)[0]
    result.crash_kinds[f"{name}: {kind}"] += 1
    if len(result.examples) < MAX_EXAMPLES:
        shown = repr(body) if len(body) <= 80 else f"{body[:60]!r}… ({len(body)} chars)"
        result.examples.append(f"{name}: {shown} -> {what[:120]}")
