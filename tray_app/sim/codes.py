"""The error and message-status tables the simulator answers with, in one place.

Sources: the HTTP API overview (repository ``arnoesterhuizen/clickatell-overview-http``,
README "Error Codes" and "status"), with ``004 Account frozen`` and ``302 Max allowed credit``
from the SOAP API's error table (Perl ``Net::SMS::Clickatell::SOAP``), which the overview omits.
Error codes and status codes share numbers but are different tables: never mix them.
"""

from __future__ import annotations

ERRORS: dict[str, str] = {
    "001": "Authentication failed",
    "003": "Session ID expired",
    "004": "Account frozen",
    "005": "Missing session ID",
    "101": "Invalid or missing parameters",
    "103": "Unknown API message ID",
    "104": "Unknown client message ID",
    "105": "Invalid destination address",
    "106": "Invalid source address",
    "107": "Empty message",
    "108": "Invalid or missing api_id",
    "109": "Missing message ID",
    "113": "Maximum message parts exceeded",
    "114": "Cannot route message",
    "116": "Invalid Unicode data",
    "120": "Invalid delivery time",
    "121": "Destination mobile number blocked",
    "301": "No credit left",
    "302": "Max allowed credit",
}

# Message status: (code, name) in the overview's words.
QUEUED = "002"
AT_GATEWAY = "003"
RECEIVED = "004"
CANCELLED = "006"
DELIVERY_ERROR = "007"
LATER = "011"

STATUSES: dict[str, str] = {
    "001": "Message unknown",
    "002": "Message queued",
    "003": "Delivered to gateway",
    "004": "Received by recipient",
    "005": "Error with message",
    "006": "User cancelled message delivery",
    "007": "Error delivering message",
    "008": "OK",
    "009": "Routing error",
    "010": "Message expired",
    "011": "Message queued for later delivery",
    "012": "Out of credit",
    "014": "Maximum MT limit exceeded",
}


class ApiError(Exception):
    """An ``ERR:`` answer; raised deep in a command and turned into one line at the top."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def line(self) -> str:
        return f"ERR: {self.code}, {ERRORS[self.code]}"

    @property
    def outcome(self) -> str:
        return f"ERR {self.code}"
