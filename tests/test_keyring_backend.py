"""Which keyring backend the store resolves, in a fresh process against the real Secret Service.

On Linux the store asks for the Secret Service directly instead of letting keyring import every
backend and plug-in it knows; keyring's own ways of choosing still win. Each case runs in a
child process, because keyring caches its choice in the process that made it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from desktop_stack import SecretService

PROBE = """
import sys
from tray_app.services.credentials import CredentialStore
store = CredentialStore()
store.load()
backend = type(store._backend).__module__ if store._backend is not None else None
print(backend, "keyring.backends.kwallet" in sys.modules, store.problem)
"""


def probe(secret_service: SecretService, tmp_path: Path, **extra: str) -> list[str]:
    """What a fresh process resolves: backend module, whether kwallet got imported, problem."""
    env = {**secret_service.env, "XDG_CONFIG_HOME": str(tmp_path / "config"), **extra}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().split(" ", 2)


def test_the_secret_service_is_found_without_loading_every_backend(
    secret_service: SecretService, tmp_path: Path
) -> None:
    backend, kwallet_loaded, problem = probe(secret_service, tmp_path)
    assert backend == "keyring.backends.SecretService"
    assert kwallet_loaded == "False"
    assert problem == "None"


def test_kde_leaves_the_choice_to_keyring(secret_service: SecretService, tmp_path: Path) -> None:
    """KWallet outranks the Secret Service in a KDE session, so keyring searches them all."""
    _backend, kwallet_loaded, _problem = probe(secret_service, tmp_path, XDG_CURRENT_DESKTOP="KDE")
    assert kwallet_loaded == "True"


@pytest.mark.parametrize("how", ["PYTHON_KEYRING_BACKEND", "keyringrc.cfg"])
def test_keyrings_own_configuration_wins(
    how: str, secret_service: SecretService, tmp_path: Path
) -> None:
    null = "keyring.backends.null.Keyring"
    extra = {}
    if how == "PYTHON_KEYRING_BACKEND":
        extra[how] = null
    else:
        config = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
        config.parent.mkdir(parents=True)
        config.write_text(f"[backend]\ndefault-keyring={null}\n")
    backend, _kwallet, problem = probe(secret_service, tmp_path, **extra)
    assert backend == "None"
    assert problem.startswith("The system keyring is turned off for Python")
