"""Fault injection for the sandbox: latency, throttling, random failures and dropped connections.

The hostile answers (a whole ``$batch`` refused with any status and Retry-After, listings that
are not JSON or lag behind writes, deeply nested JSON, late commits, redirects, expiring tokens,
odd ``@odata.nextLink``s, oversized requests) are applied by ``importer.sandbox.hostile``.

Everything here is synchronous and driven by an injectable clock, so tests can move time instead of
waiting. The live :class:`FaultConfig` is read on every request: mutating it (in process or through
``PUT /_sandbox/faults``) changes behaviour immediately.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["FaultConfig", "FaultDice", "ThrottleDecision", "ThrottleGate", "update_faults"]


@dataclass
class FaultConfig:
    """Faults the sandbox injects; all off by default.

    Attributes:
        latency_ms: Added to every Graph request (once per ``$batch``), not to admin or
            token routes.
        jitter_ms: Latency varies uniformly by up to this much either way (never below zero).
        throttle_rps: Token-bucket rate over all Graph requests (each ``$batch`` item counts on its
            own, the outer ``$batch`` POST does not); 0 turns throttling off.
        throttle_burst: Bucket size (requests that may arrive at once after a quiet spell);
            0 = ``max(1, throttle_rps / 10)``, a tenth of a second of traffic.
        error_503_rate: Fraction of requests answered 503 with nothing stored.
        commit_then_504_rate: Fraction of successful writes that are stored, then answered 504.
        reset_rate: Fraction of HTTP requests whose connection is dropped without an answer,
            before anything is stored (a ``$batch`` is dropped as a whole: one draw per POST).
        enums_as_numbers: Answer ``"proficiency":"4"`` and ``"allowedAudiences":"8"``.
        deny_app_writes: Writes made with an application token get 403 ``ErrorAccessDeniedForRole``.
        deny_directory_reads: ``GET /users`` gets 403 ``Authorization_RequestDenied`` (a sign-in
            without User.Read.All).
        seed: Seed for the fault dice, for reproducible tests; ``None`` = unpredictable.
        batch_status: Every ``$batch`` is refused whole with this status, nothing carried
            out (0 = off).
        batch_retry_after: The raw ``Retry-After`` sent with ``batch_status`` ("" = none).
        listing_answer: ``not-json`` or ``no-value``: skill listings answer 200 with a body
            that is not what Graph documents ("" = off).
        deep_json_depth: ``$batch`` answers are this deeply nested JSON arrays instead of the
            real answer, the items having been carried out (0 = off).
        spoil_limit: How many answers the four faults above spoil (0 = every one).
        late_commit_rate: Fraction of creates stored only ``late_commit_ms`` after they
            arrived.
        late_commit_ms: See ``late_commit_rate``.
        late_commit_jitter_ms: The delay of each late commit varies uniformly by up to this
            much either way (never below zero).
        late_commit_answer: When a late create is answered: ``at-once`` (504 at once, the
            create landing later) or ``with-commit`` (201 only once it is stored; a client
            whose timeout is shorter has given up by then, and a ``$batch`` is answered when
            its last late create is stored).
        listing_lag_ms: Listings leave out skills created less than this long ago.
        redirect_to: Every Graph request is answered ``307`` to this URL ("" = off).
        expire_tokens_after_writes: Once this many writes are stored, every bearer token,
            the fixed one included, is refused as expired (0 = off).
        next_link: Listings with a next page carry this ``@odata.nextLink`` ("" = off).
        max_request_bytes: Bodies larger than this are refused: a ``$batch`` whole with 400,
            a plain request with 413 (0 = off).
        delta_status: ``GET /users/delta`` (links included) answers this 5xx status, the
            listing still works (0 = off).
    """

    latency_ms: float = 0
    jitter_ms: float = 0
    throttle_rps: float = 0
    throttle_burst: float = 0
    error_503_rate: float = 0
    commit_then_504_rate: float = 0
    reset_rate: float = 0
    enums_as_numbers: bool = False
    deny_app_writes: bool = True
    deny_directory_reads: bool = False
    seed: int | None = None
    batch_status: int = 0
    batch_retry_after: str = ""
    listing_answer: str = ""
    deep_json_depth: int = 0
    spoil_limit: int = 0
    late_commit_rate: float = 0
    late_commit_ms: float = 0
    late_commit_jitter_ms: float = 0
    late_commit_answer: str = "at-once"
    listing_lag_ms: float = 0
    redirect_to: str = ""
    expire_tokens_after_writes: int = 0
    next_link: str = ""
    max_request_bytes: int = 0
    delta_status: int = 0


_RATES = ("error_503_rate", "commit_then_504_rate", "reset_rate", "late_commit_rate")
_LISTING_ANSWERS = ("", "not-json", "no-value")
_LATE_COMMIT_ANSWERS = ("at-once", "with-commit")


def update_faults(faults: FaultConfig, changes: Mapping[str, Any]) -> None:
    """Apply a partial update (the body of ``PUT /_sandbox/faults``) to the live config.

    All changes are checked before any is applied, so a bad update changes nothing.

    Raises:
        ValueError: For an unknown key or a value of the wrong type or range.
    """
    known = {f.name: f for f in fields(FaultConfig)}
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in known:
            raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
        if key in ("enums_as_numbers", "deny_app_writes", "deny_directory_reads"):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif key == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("seed must be an integer or null")
        elif known[key].type == "str":
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            if key == "listing_answer" and value not in _LISTING_ANSWERS:
                raise ValueError(f"listing_answer must be one of {', '.join(_LISTING_ANSWERS)}")
            if key == "late_commit_answer" and value not in _LATE_COMMIT_ANSWERS:
                raise ValueError(
                    f"late_commit_answer must be one of {', '.join(_LATE_COMMIT_ANSWERS)}"
                )
        elif known[key].type == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a whole number >= 0")
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            if key in _RATES and value > 1:
                raise ValueError(f"{key} is a fraction between 0 and 1")
            value = float(value)
        checked[key] = value
    for key, value in checked.items():
        setattr(faults, key, value)


class FaultDice:
    """Random draws for the faults, reseeded whenever ``faults.seed`` changes."""

    def __init__(self, faults: FaultConfig) -> None:
        """Bind the dice to the live config."""
        self._faults = faults
        self._seed_used: int | None = faults.seed
        self._rng = random.Random(faults.seed)

    @property
    def rng(self) -> random.Random:
        """The generator, reseeded first if the configured seed changed."""
        if self._faults.seed != self._seed_used:
            self._seed_used = self._faults.seed
            self._rng = random.Random(self._seed_used)
        return self._rng

    def hit(self, rate: float) -> bool:
        """True with probability ``rate`` (never draws when the rate is 0, keeping runs stable)."""
        return rate > 0 and self.rng.random() < rate

    def latency_s(self) -> float:
        """The delay to add to one Graph request, in seconds."""
        base = self._faults.latency_ms
        jitter = self._faults.jitter_ms
        if jitter > 0:
            base += self.rng.uniform(-jitter, jitter)
        return max(0.0, base) / 1000

    def late_commit_s(self) -> float:
        """How long one late create waits before it is stored, in seconds."""
        base = self._faults.late_commit_ms
        jitter = self._faults.late_commit_jitter_ms
        if jitter > 0:
            base += self.rng.uniform(-jitter, jitter)
        return max(0.0, base) / 1000


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    """The answer of :meth:`ThrottleGate.check`: admitted, or wait ``retry_after`` seconds."""

    retry_after: int | None
    premature: bool = False


_ADMITTED = ThrottleDecision(None)


class ThrottleGate:
    """A global token bucket plus the Retry-After windows it has announced.

    The bucket refills at ``throttle_rps`` tokens per second and holds ``throttle_burst`` tokens
    (by default ``max(1, throttle_rps / 10)``, a tenth of a second of traffic), so short bursts
    pass and a client that sends faster than the rate is throttled within a fraction of a second.

    A throttled request gets an integer Retry-After (>= 1 s) and closes the gate for that long.
    The window a client must respect starts when the 429 was *sent* (:meth:`announce`), because
    that is when the client can learn of it; a request arriving inside an announced window is
    premature: it is counted and answered 429 as well. Requests refused while the gate is closed
    take no token, so the bucket is full again when the window ends.
    """

    def __init__(self, faults: FaultConfig, clock: Callable[[], float]) -> None:
        """Bind the gate to the live config and a monotonic clock (seconds)."""
        self._faults = faults
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every window and refill the bucket."""
        self._tokens: float | None = None
        self._last = self._clock()
        self._closed_until = 0.0
        # Announced windows, merged, as [sent + grace, ends): a request is premature only if it
        # arrived after a 429 could have reached the client and before its Retry-After ran out.
        # Requests that were already on their way when the 429 left are not the client's fault.
        self._windows: list[tuple[float, float]] = []
        # Per connection, the last 429 sent on it as (sent, ends). HTTP/1.1 clients do not
        # pipeline, so a request on that same connection was sent after the client read the 429:
        # no grace there, which catches a client that retries at once.
        self._by_connection: dict[object, tuple[float, float]] = {}

    def check(self, arrival: float, connection: object | None = None) -> ThrottleDecision:
        """Admit one request that arrived at ``arrival``, or say how long it must wait.

        Args:
            arrival: When the HTTP request arrived (clock seconds).
            connection: The connection it came on (any hashable identity), if known.
        """
        rate = self._faults.throttle_rps
        now = self._clock()
        ends = self._premature_until(arrival, connection)
        if ends is not None:
            return ThrottleDecision(_whole_seconds(ends - now), premature=True)
        if rate <= 0:
            return _ADMITTED
        if now < self._closed_until:
            return ThrottleDecision(_whole_seconds(self._closed_until - now))
        burst = max(1.0, self._faults.throttle_burst or rate / 10)
        tokens = burst if self._tokens is None else self._tokens
        tokens = min(burst, tokens + max(0.0, now - self._last) * rate)
        self._last = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return _ADMITTED
        self._tokens = tokens
        retry_after = _whole_seconds((1 - tokens) / rate)
        self._closed_until = now + retry_after
        return ThrottleDecision(retry_after)

    def announce(self, retry_after: int, connection: object | None = None) -> None:
        """Record that a 429 with this Retry-After has just been sent (on ``connection``)."""
        now = self._clock()
        # Keep a few seconds of history: arrival stamps are never older than one request.
        horizon = now - _HISTORY_S
        self._windows = [w for w in self._windows if w[1] > horizon]
        start, ends = now + TRANSIT_GRACE_S, now + retry_after
        if self._windows and self._windows[-1][1] >= start:
            start = self._windows[-1][0]
            ends = max(ends, self._windows.pop()[1])
        self._windows.append((start, ends))
        if connection is not None:
            stale = [key for key, (_, until) in self._by_connection.items() if until <= horizon]
            for key in stale:
                del self._by_connection[key]
            self._by_connection[connection] = (now, now + retry_after)

    def _premature_until(self, arrival: float, connection: object | None) -> float | None:
        """End of the announced window ``arrival`` falls in, or None if it is in none."""
        if connection is not None and connection in self._by_connection:
            sent, ends = self._by_connection[connection]
            if sent <= arrival < ends:
                return ends
        for start, ends in reversed(self._windows):
            if start <= arrival < ends:
                return ends
            if ends <= arrival:
                break
        return None


#: A request that arrives this soon after a 429 left may have been sent before the client
#: could read that 429 (the answer is still in transit, or the request's handler had not been
#: started yet because the server was busy), so it is not counted as premature.
TRANSIT_GRACE_S = 0.05
_HISTORY_S = 10.0


def _whole_seconds(seconds: float) -> int:
    # Graph sends integer seconds; never 0, which some clients read as "retry now".
    return max(1, math.ceil(seconds))
