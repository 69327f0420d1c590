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
