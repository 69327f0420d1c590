"""The keeper in-process against the simulator, and the parser fuzz: latency and behaviour.

The measuring is in :mod:`tests.perf.keeper_bench` and :mod:`tests.perf.fuzz`; this module
turns their figures into ``perf.json`` entries and table rows.
"""

from __future__ import annotations

from typing import Any

from tests.perf import fuzz, keeper_bench
from tests.perf.report import INFO, Row, fmt, ratio_text, verdict
from tests.perf.section import Plan, Result, progress

TARGET_PING = 1.1
TARGET_LOOP_MS = 50.0
TARGET_GROWTH_KIB = 1024.0
TARGET_FUZZ = 100_000
TARGET_TIMER_WAKES = 61
SOAK_HOURS = 24.0
SOAK_FAULT_RATE = 0.2


def run_keeper(plan: Plan) -> Result:
    progress("keeper: ping latency")
    latency = keeper_bench.ping_latency(plan.ping_samples)
    progress(f"keeper: event loop while a ping hangs {plan.hang:g} s")
    loop = keeper_bench.event_loop_delay(plan.hang)
    progress("keeper: a simulated hour, a simulated day with faults")
    kept_hour = keeper_bench.requests_per_kept_hour()
    hourly = {"pings": kept_hour["pings"], "auths": kept_hour["auths"]}
    soak = keeper_bench.soak(SOAK_HOURS, SOAK_FAULT_RATE)
    progress(f"keeper: {plan.growth_days:g} simulated days for memory growth")
    growth = keeper_bench.rss_growth(plan.growth_days, plan.growth_warmup_days)
    figures: dict[str, Any] = {
        "ping_latency_ratio": latency["ratio"],
        "ping_hop_ratio": latency["keeper_ms"] / latency["client_ms"],
        "event_loop_max_delay_ms": loop["max_delay_ms"],
        "requests_per_kept_hour": hourly,
        "keeper_timer_wakes_per_kept_hour": kept_hour["timer_wakes"],
        "soak": soak,
        "rss_growth_7d_kib": growth["growth_kib"] * 7 / plan.growth_days,
        "refs_lost_per_kept_day": {
            "None": growth["none_refs_lost_per_day"],
            "True": growth["true_refs_lost_per_day"],
        },
    }
    details = {"ping_latency": latency, "event_loop": loop, "rss_growth": growth}
    return Result(figures=figures, details=details, rows=_keeper_rows(figures, details))


def run_fuzz(plan: Plan) -> Result:
    progress(f"parser: {plan.fuzz_inputs} random answers")
    fuzzed = fuzz.run(plan.fuzz_inputs).as_dict()
    row = Row(
        "parser fuzz: inputs, crashes",
        f"{fuzzed['inputs']} inputs, {fuzzed['crashes']} crashes ({fuzzed['anomalies']} anomalies)",
        "",
        "",
        f"{TARGET_FUZZ} and 0",
        verdict(fuzzed["crashes"] == 0 and (plan.quick or fuzzed["inputs"] >= TARGET_FUZZ)),
    )
    return Result(figures={"fuzz": fuzzed}, rows=[row])


def _keeper_rows(figures: dict[str, Any], details: dict[str, Any]) -> list[Row]:
    latency = details["ping_latency"]
    loop = details["event_loop"]
    hourly = figures["requests_per_kept_hour"]
    soak = figures["soak"]
    by_kind = ", ".join(f"{n} {kind}" for kind, n in soak["notifications_by_kind"].items() if n)
    growth = details["rss_growth"]
    days = growth["simulated_days"]
    lost = figures["refs_lost_per_kept_day"]
    return [
        Row(
            "ping latency, loopback (ms)",
            fmt(latency["keeper_ms"], 3),
            fmt(latency["bare_ms"], 3) + " requests.post",
            ratio_text(figures["ping_latency_ratio"]),
            f"≤ {TARGET_PING}x",
            verdict(figures["ping_latency_ratio"] <= TARGET_PING),
        ),
        Row(
            "ping: keeper against its client alone (ms)",
            fmt(latency["keeper_ms"], 3),
            fmt(latency["client_ms"], 3) + " client on the GUI thread",
            ratio_text(figures["ping_hop_ratio"]),
            "figure (hop and bookkeeping)",
            INFO,
        ),
        Row(
            f"event-loop max delay, {loop['hung_s']:.1f} s hang (ms)",
            fmt(figures["event_loop_max_delay_ms"], 2),
            "",
            "",
            f"< {TARGET_LOOP_MS:g} ms",
            verdict(figures["event_loop_max_delay_ms"] < TARGET_LOOP_MS),
        ),
        Row(
            "requests per kept hour",
            f"{hourly['pings']} pings, {hourly['auths']} auths",
            "",
            "",
            "6 pings, 0 auths",
            verdict(hourly == {"pings": 6, "auths": 0}),
        ),
        Row(
            "keeper timer wakes per kept hour (simulated)",
            str(figures["keeper_timer_wakes_per_kept_hour"]),
            "",
            "",
            f"≤ {TARGET_TIMER_WAKES} (one a minute)",
            verdict(figures["keeper_timer_wakes_per_kept_hour"] <= TARGET_TIMER_WAKES),
        ),
        Row(
            f"soak {soak['hours']:g} h, {soak['fault_rate']:.0%} faults: requests",
            f"{soak['auths']} auths, {soak['pings']} pings ({soak['pings_failed']} failed)",
            "",
            "",
            "1 auth",
            verdict(soak["auths"] == 1),
        ),
        Row(
            "soak: expiries (avoidable)",
            f"{soak['expiries']} ({soak['avoidable_expiries']})",
            "",
            "",
            "0 avoidable",
            verdict(soak["avoidable_expiries"] == 0),
        ),
        Row(
            "soak: notification events",
            f"{soak['notifications']}" + (f" ({by_kind})" if by_kind else ""),
            "",
            "",
            "figure only",
            INFO,
        ),
        Row(
            "RSS growth, 7 simulated days (KiB)"
            + ("" if days == 7 else f" [scaled from {days:g} d]"),
            fmt(figures["rss_growth_7d_kib"], 0),
            "",
            "",
            f"< {TARGET_GROWTH_KIB:g} KiB",
            verdict(figures["rss_growth_7d_kib"] < TARGET_GROWTH_KIB),
        ),
        Row(
            "None/True refs lost per kept day",
            f"{lost['None']:.0f} None, {lost['True']:.0f} True",
            "",
            "",
            "0 (PySide6 6.12 bug)",
            verdict(lost["None"] <= 0 and lost["True"] <= 0),
        ),
    ]
