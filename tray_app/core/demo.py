"""The demo account: what the simulator accepts out of the box and what ``--demo`` signs in with."""

DEMO_API_ID = "1000001"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
