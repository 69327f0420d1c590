"""Clickatell Session Tray: keeps a Clickatell HTTP/S API session alive from the tray."""

__version__ = "0.1.0"
APP_NAME = "Clickatell Session Tray"
APP_ID = "io.github.clickatell_session_tray"
