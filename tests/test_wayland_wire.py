"""The Wayland wire format as the compositor reads it: padded strings, the socket's path."""

from __future__ import annotations

from pathlib import Path

from tray_app.ui.wayland_wire import pack_string, read_string, read_uint, socket_path


def test_strings_carry_their_nul_and_pad_to_four_bytes() -> None:
    packed = pack_string("text/plain")
    assert read_uint(packed) == (11, 4)  # ten letters and the NUL
    assert len(packed) == 4 + 12
    assert read_string(packed) == ("text/plain", 16)
    assert read_string(pack_string("abc")) == ("abc", 8)  # exactly four with the NUL


def test_a_string_followed_by_more_arguments_is_read_to_its_end() -> None:
    payload = pack_string("x-kde-passwordManagerHint") + (7).to_bytes(4, "little")
    text, offset = read_string(payload)
    assert text == "x-kde-passwordManagerHint"
    assert read_uint(payload, offset)[0] == 7


def test_socket_path_follows_wayland_display_and_the_runtime_dir() -> None:
    assert socket_path({"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": "/run/u"}) == Path(
        "/run/u/wayland-1"
    )
    assert socket_path({"WAYLAND_DISPLAY": "/tmp/w/wayland-9"}) == Path("/tmp/w/wayland-9")
    assert socket_path({"XDG_RUNTIME_DIR": "/run/u"}) is None
    assert socket_path({"WAYLAND_DISPLAY": "wayland-0"}) is None
