"""The local stand-in for the Clickatell legacy HTTP API."""
