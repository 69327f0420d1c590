"""``clickatell-tray simulate`` as a person runs it: curl sends, the JSON log tells what it did."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from processes import SimulatorProcess

from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

CREDENTIALS = f"api_id={DEMO_API_ID}&user={DEMO_USER}&password={DEMO_PASSWORD}"


def curl(*args: str) -> str:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_each_request_is_one_json_line_with_message_fields(verbose: bool) -> None:
    server = SimulatorProcess(*(["--verbose"] if verbose else []))
    try:
        sent = curl(
            "--data",
            f"{CREDENTIALS}&to=27820000001,27820000002&text=meet+at+noon&climsgid=c7",
            f"{server.base_url}/http/sendmsg",
        )
        first_id = sent.split()[1]
        charge = curl(
            "--data", f"{CREDENTIALS}&apimsgid={first_id}", f"{server.base_url}/http/getmsgcharge"
        )
    finally:
        code, records = server.stop()
    assert code == 0
    assert charge == f"apiMsgId: {first_id} charge: 1 status: 002\n"
    send, query = records
    assert send["command"] == "sendmsg"
    assert send["outcome"] == "ok"
    assert send["text_length"] == len("meet at noon")
    assert send["climsgid"] == "c7"
    messages = send["messages"]
    assert isinstance(messages, list)
    assert [m["to"] for m in messages] == ["27820000001", "27820000002"]
    assert messages[0]["apimsgid"] == first_id
    assert query == {
        "command": "getmsgcharge",
        "outcome": "ok",
        "apimsgid": first_id,
        "status": "002",
    }
    if verbose:
        assert send["text"] == "meet at noon"
    else:
        assert "text" not in send
        assert "noon" not in repr(records)
    assert f"password={DEMO_PASSWORD}" not in repr(records)


def test_delivery_delays_and_failures_are_set_on_the_command_line() -> None:
    """With no delays every message is received at once; with every delivery failing, 007."""
    server = SimulatorProcess("--to-gateway", "0s", "--to-handset", "0s")
    failing = SimulatorProcess(
        "--delivery-failure-rate", "1", "--to-gateway", "0", "--to-handset", "0"
    )
    try:
        statuses = []
        for sim in (server, failing):
            sent = curl(
                "--data", f"{CREDENTIALS}&to=27820000001&text=hi", f"{sim.base_url}/http/sendmsg"
            )
            message_id = sent.split()[1]
            statuses.append(
                curl(
                    "--data",
                    f"{CREDENTIALS}&apimsgid={message_id}",
                    f"{sim.base_url}/http/querymsg",
                )
            )
    finally:
        assert server.stop()[0] == 0
        assert failing.stop()[0] == 0
    assert statuses[0].endswith("Status: 004\n"), statuses[0]
    assert statuses[1].endswith("Status: 007\n"), statuses[1]


def test_a_delivery_failure_rate_out_of_range_is_a_usage_error() -> None:
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "simulate", "--delivery-failure-rate", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "share between 0 and 1" in result.stderr
    assert "Traceback" not in result.stderr
