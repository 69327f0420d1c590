"""Fixtures that start real desktop services for the tests that need them."""
