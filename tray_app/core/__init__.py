"""The vocabulary and the rules: commands, states, events, errors, the parser, the keep-alive plan.

Standard library only: no Qt, no requests, no keyring (``tests/test_layers.py`` checks).
"""
