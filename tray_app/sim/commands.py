"""The API commands: read a request's parameters, act on the model, answer as the real API does.

Every command that uses a session takes a ``session_id`` or the credentials (``api_id``,
``user``, ``password``) on the call itself, and a session it uses stays alive another
``lifetime``. Answers are the legacy API's text lines (see the README's simulator section for
each command, its errors and their sources). Test numbers, so that every error path can be
reached on purpose:

* a destination is 7 to 15 digits (international format, no ``+`` or spaces), else ``105``;
* numbers starting with ``999`` cannot be routed (``114``; route coverage says "not supported");
* numbers starting with ``998`` are on the block list (``121``);
* numbers starting with ``997`` reach the gateway and then fail delivery (status ``007``).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from tray_app.sim.codes import ApiError
from tray_app.sim.messages import Message
from tray_app.sim.model import Account, Model
from tray_app.sim.text import decode_ucs2_hex, parts_needed

UNROUTABLE_PREFIX = "999"
BLOCKED_PREFIX = "998"
FAILING_PREFIX = "997"
MAX_RECIPIENTS = 100
MAX_CONCAT = 3
MAX_DELIV_TIME = 10_080  # minutes: seven days
COVERED = "This prefix is currently supported. Messages sent to this prefix will be routed."
NOT_COVERED = (
    "This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)

_MSISDN = re.compile(r"[0-9]{7,15}")
_NUMERIC_SENDER = re.compile(r"[0-9]{1,16}")
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_INTEGER = re.compile(r"[0-9]{1,9}")

Fields = dict[str, object]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one request did: its outcome for the stats, the body, and fields for the log."""

    outcome: str
    body: str
    fields: Fields = field(default_factory=dict)


Command = Callable[[Model, dict[str, str], float, bool], Answer]


def answer(model: Model, command: str, params: dict[str, str], *, log_text: bool = False) -> Answer:
    """Run one API command under the model's lock (one command, one consistent state)."""
    now = model.now()
    with model.lock:
        try:
            return COMMANDS[command](model, params, now, log_text)
        except ApiError as error:
            return Answer(error.outcome, error.line)


def _auth(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    return Answer("ok", f"OK: {model.sign_in(params, now)}")


def _ping(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    model.use_session(params, now)
    return Answer("ok", "OK:" if model.bare_ping_ok else f"OK: {params['session_id']}")


def _getbalance(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    account = model.caller(params, now)
    return Answer("ok", f"Credit: {model.balance(account):.2f}")


def _integer(
    params: dict[str, str], name: str, default: int, top: int, *, bottom: int = 0, code: str = "101"
) -> int:
    """An optional whole-number parameter in ``bottom..top``; anything else is ``code``."""
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not _INTEGER.fullmatch(raw) or not bottom <= int(raw) <= top:
        raise ApiError(code)
    return int(raw)


def _text(params: dict[str, str]) -> tuple[str, bool]:
    """The message text (decoded from UCS-2 hex with ``unicode=1``) and whether it is UCS-2."""
    if "text" not in params:
        raise ApiError("101")
    unicode = _integer(params, "unicode", 0, 1) == 1
    text = params["text"]
    if unicode:
        decoded = decode_ucs2_hex(text) if text else ""
        if decoded is None:
            raise ApiError("116")
        text = decoded
    if not text:
        raise ApiError("107")
    return text, unicode


def _recipients(params: dict[str, str]) -> list[str]:
    raw = params.get("to", "")
    if not raw.strip():
        raise ApiError("101")
    recipients = [number.strip() for number in raw.split(",")]
    if len(recipients) > MAX_RECIPIENTS:
        raise ApiError("101")
    return recipients


def _sender(params: dict[str, str]) -> str:
    sender = params.get("from", "")
    if sender and not (_NUMERIC_SENDER.fullmatch(sender) or _ALPHA_SENDER.fullmatch(sender)):
        raise ApiError("106")
    return sender


def route_error(msisdn: str) -> str | None:
    """Why a message to this number is refused at once, or None when it is accepted."""
    if not _MSISDN.fullmatch(msisdn):
        return "105"
    if msisdn.startswith(UNROUTABLE_PREFIX):
        return "114"
    if msisdn.startswith(BLOCKED_PREFIX):
        return "121"
    return None


def _sendmsg(model: Model, params: dict[str, str], now: float, log_text: bool) -> Answer:
    """One message per recipient; one line per recipient when ``to`` lists several."""
    account = model.caller(params, now)
    recipients = _recipients(params)
    text, unicode = _text(params)
    parts = parts_needed(text, unicode=unicode)
    if parts > _integer(params, "concat", 1, MAX_CONCAT, bottom=1):
        raise ApiError("113")
    sender = _sender(params)
    climsgid = params.get("climsgid", "")
    if climsgid and not _CLIENT_ID.fullmatch(climsgid):
        raise ApiError("101")
    delay = 60.0 * _integer(params, "deliv_time", 0, MAX_DELIV_TIME, code="120")
    callback = _integer(params, "callback", 0, 7)
    for name, bottom, top in (("mo", 0, 1), ("escalate", 0, 1), ("queue", 1, 3)):
        _integer(params, name, bottom, top, bottom=bottom)
    _integer(params, "req_feat", 0, 999_999_999)
    cost = parts * model.charge
    if params.get("max_credits", "").strip():
        try:
            max_credits = float(params["max_credits"])
        except ValueError:
            raise ApiError("101") from None
        if not math.isfinite(max_credits) or max_credits < 0:
            raise ApiError("101")
        if cost > max_credits:
            raise ApiError("302")
    lines: list[str] = []
    sent: list[dict[str, str]] = []
    for to in recipients:
        code = route_error(to)
        if code is None and model.balance(account) < cost:
            code = "301"
        if code is not None:
            lines.append(ApiError(code).line)
            sent.append({"to": to, "error": code})
            continue
        message = Message(
            apimsgid=secrets.token_hex(16),
            owner=account.key,
            to=to,
            sender=sender,
            text=text,
            climsgid=climsgid,
            parts=parts,
            charge=cost,
            callback=callback,
            sent_at=now,
            due_at=now + delay,
            fails=to.startswith(FAILING_PREFIX) or model.delivery_fails(),
        )
        model.messages.add(message)
        model.spend(account, cost)
        lines.append(f"ID: {message.apimsgid}")
        sent.append({"to": to, "apimsgid": message.apimsgid})
    if len(recipients) > 1:
        lines = [f"{line} To: {entry['to']}" for line, entry in zip(lines, sent, strict=True)]
    errors = [entry["error"] for entry in sent if "error" in entry]
    outcome = "ok" if not errors else f"ERR {errors[0]}" if len(errors) == len(sent) else "partial"
    fields: Fields = {"text_length": len(text), "parts": parts, "messages": sent}
    if climsgid:
        fields["climsgid"] = climsgid
    if log_text:
        fields["text"] = text
    return Answer(outcome, "\n".join(lines), fields)


def _message(model: Model, account: Account, params: dict[str, str]) -> Message:
    """The message a query names by ``apimsgid`` (``apiMsgId`` too) or ``climsgid``."""
    apimsgid = params.get("apimsgid") or params.get("apiMsgId") or ""
    climsgid = params.get("climsgid", "")
    if apimsgid:
        message = model.messages.get(account.key, apimsgid)
        if message is None:
            raise ApiError("103")
    elif climsgid:
        message = model.messages.by_client_id(account.key, climsgid)
        if message is None:
            raise ApiError("104")
    else:
        raise ApiError("109")
    return message


def _status_answer(message: Message, status: str, body: str) -> Answer:
    return Answer("ok", body, {"apimsgid": message.apimsgid, "status": status})


def _querymsg(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    message = _message(model, model.caller(params, now), params)
    status = message.status(now, model.lifecycle)
    return _status_answer(message, status, f"ID: {message.apimsgid} Status: {status}")


def _delmsg(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    """Stop a message still queued and give its credits back; others keep their status."""
    account = model.caller(params, now)
    message = _message(model, account, params)
    if message.cancel(now, model.lifecycle):
        model.spend(account, -message.charge)
        message.charge = 0.0
    status = message.status(now, model.lifecycle)
    return _status_answer(message, status, f"ID: {message.apimsgid} Status: {status}")


def _getmsgcharge(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    """In the form the client libraries parse (see the README), not the overview's."""
    message = _message(model, model.caller(params, now), params)
    status = message.status(now, model.lifecycle)
    return _status_answer(
        message,
        status,
        f"apiMsgId: {message.apimsgid} charge: {message.charge:g} status: {status}",
    )


def _route_coverage(model: Model, params: dict[str, str], now: float, _log_text: bool) -> Answer:
    model.caller(params, now)
    msisdn = params.get("msisdn", "").strip()
    if not msisdn:
        raise ApiError("101")
    fields: Fields = {"msisdn": msisdn}
    if route_error(msisdn) in ("105", "114"):
        return Answer("not covered", f"ERR: {NOT_COVERED}", fields)
    return Answer("ok", f"OK: {COVERED} Charge: {model.charge:g}", fields)


COMMANDS: dict[str, Command] = {
    "auth": _auth,
    "ping": _ping,
    "getbalance": _getbalance,
    "sendmsg": _sendmsg,
    "querymsg": _querymsg,
    "delmsg": _delmsg,
    "getmsgcharge": _getmsgcharge,
    "routeCoverage": _route_coverage,
}
HTTP_COMMANDS = ("auth", "ping", "getbalance", "sendmsg", "querymsg", "delmsg", "getmsgcharge")
UTILS_COMMANDS = {"routeCoverage": "routeCoverage", "routeCoverage.php": "routeCoverage"}
