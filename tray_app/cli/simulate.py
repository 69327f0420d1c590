"""``clickatell-tray simulate``: the local API sandbox, one JSON line per request."""

from __future__ import annotations

import argparse
import json
import signal
from typing import NoReturn

from tray_app.cli.errors import EXIT_OK, EXIT_USAGE, CliError


def cmd_simulate(args: argparse.Namespace) -> int:
    from tray_app.sim.server import Simulator

    def report(record: dict[str, object]) -> None:
        print(json.dumps(record), flush=True)

    try:
        simulator = Simulator(
            args.host,
            args.port,
            lifetime=args.lifetime,
            fault_rate=args.fault_rate,
            latency=args.latency,
            on_request=report,
            log_text=getattr(args, "verbose", False),
        )
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot start the simulator: {exc}", EXIT_USAGE) from None
    print(simulator.base_url, flush=True)

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
