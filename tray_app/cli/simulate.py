"""``clickatell-tray simulate``: the local API sandbox, one JSON line per request."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import NoReturn

from tray_app.cli.errors import EXIT_OK, EXIT_USAGE, CliError


def cmd_simulate(args: argparse.Namespace) -> int:
    from tray_app.sim.server import Simulator

    report = _Lines()

    try:
        simulator = Simulator(
            args.host,
            args.port,
            lifetime=args.lifetime,
            fault_rate=args.fault_rate,
            latency=args.latency,
            to_gateway=args.to_gateway,
            to_handset=args.to_handset,
            failure_rate=args.delivery_failure_rate,
            on_request=report,
            log_text=getattr(args, "verbose", False),
        )
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot start the simulator: {exc}", EXIT_USAGE) from None
    report.say(simulator.base_url)

    def stop(_signum: int, _frame: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return EXIT_OK


class _Lines:
    """Standard output, one line at a time, from any request's thread.

    Once standard output is gone (closed, or a pipe whose reader left), the simulator keeps
    serving: one line on stderr says the request lines stop, and stdout is pointed at the null
    device so that nothing, not even the flush at exit, raises again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gone = False

    def __call__(self, record: dict[str, object]) -> None:
        self.say(json.dumps(record))

    def say(self, line: str) -> None:
        with self._lock:
            if self._gone:
                return
            try:
                if sys.stdout is None:
                    raise OSError("standard output is closed")
                print(line, flush=True)
            except (OSError, ValueError):
                self._gone = True
                _silence_stdout()
                if sys.stderr is not None:
                    print(
                        "clickatell-tray: standard output is closed; "
                        "the simulator keeps serving without printing request lines",
                        file=sys.stderr,
                        flush=True,
                    )


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
    finally:
        os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
