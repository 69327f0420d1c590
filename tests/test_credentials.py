"""Credential storage: against a real Secret Service, and with backends that fail on purpose."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable

import keyring.core
import pytest
from desktop_stack import SecretService, require_tools
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringError, KeyringLocked, PasswordDeleteError

from tray_app.services.credentials import ENTRY, SERVICE, Credentials, CredentialStore

SESSION_ID = "0123456789abcdef0123456789abcdef"
CREDENTIALS = Credentials(api_id="3412345", user="dev-user", password="pw-Tr4y-not-in-files-7f3c")


class DictBackend(KeyringBackend):
    """An in-memory keyring that counts its calls; never picked by keyring's own detection."""

    priority = 0
    viable = False

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls += 1
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError("No such password!")


class RaisingBackend(DictBackend):
    """A keyring that refuses every call the way a locked or broken one does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        raise self.error


class BlockingBackend(DictBackend):
    """A keyring stuck on an unlock prompt until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        self.release.wait()
        return None


class ForgetfulBackend(DictBackend):
    """A keyring that accepts writes and keeps nothing, as some broken setups do."""

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> Callable[[KeyringBackend], None]:
    """Make ``backend`` keyring's global one for this test; the previous one comes back after."""

    def use(backend: KeyringBackend) -> None:
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)

    return use


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert CREDENTIALS.password not in text
    assert SESSION_ID not in text


def test_credentials_repr_and_str_hide_the_password() -> None:
    assert CREDENTIALS.password not in repr(CREDENTIALS)
    assert CREDENTIALS.password not in str(CREDENTIALS)
    assert CREDENTIALS.user in repr(CREDENTIALS)


# --- the real Secret Service (gnome-keyring on a private bus) ---


def test_round_trip_through_the_real_keyring(real_store: CredentialStore) -> None:
    real_store.save(CREDENTIALS)

    assert CredentialStore().load() == CREDENTIALS
    assert real_store.persistent
    assert real_store.problem is None


def test_session_id_saved_loaded_and_cleared(real_store: CredentialStore) -> None:
    real_store.save(CREDENTIALS)
    real_store.save_session_id(SESSION_ID)
    assert CredentialStore().load_session_id() == SESSION_ID

    real_store.save_session_id(None)
    assert CredentialStore().load_session_id() is None
    assert CredentialStore().load() == CREDENTIALS

    real_store.save_session_id(SESSION_ID)
    real_store.clear()
    assert CredentialStore().load_session_id() is None
    assert CredentialStore().load() is None


def test_clear_with_nothing_stored_is_fine(real_store: CredentialStore) -> None:
    real_store.clear()
    real_store.clear()

    assert real_store.load() is None
    assert real_store.persistent
    assert real_store.problem is None


def test_session_id_survives_a_password_change_but_not_an_account_change(
    real_store: CredentialStore,
) -> None:
    real_store.save(CREDENTIALS)
    real_store.save_session_id(SESSION_ID)

    real_store.save(Credentials(CREDENTIALS.api_id, CREDENTIALS.user, "a-new-password"))
    assert real_store.load_session_id() == SESSION_ID

    real_store.save(Credentials(CREDENTIALS.api_id, "another-user", "a-new-password"))
    assert real_store.load_session_id() is None


def test_everything_is_one_keyring_item(
    real_store: CredentialStore, keyring_env: SecretService
) -> None:
    require_tools("secret-tool")
    real_store.save(CREDENTIALS)
    real_store.save_session_id(SESSION_ID)

    found = subprocess.run(
        ["secret-tool", "search", "--all", "service", SERVICE],
        env=keyring_env.env,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    # secret-tool prints one "[/path]" header per item on stdout, attributes on stderr.
    assert sum(line.startswith("[/") for line in found.stdout.splitlines()) == 1
    assert found.stderr.count("attribute.service = ") == 1
    assert f"attribute.username = {ENTRY}" in found.stderr
    assert json.loads(keyring.get_password(SERVICE, ENTRY) or "") == {
        "api_id": CREDENTIALS.api_id,
        "user": CREDENTIALS.user,
        "password": CREDENTIALS.password,
        "session_id": SESSION_ID,
    }


def test_no_secret_in_any_file_under_home(
    real_store: CredentialStore, keyring_env: SecretService
) -> None:
    real_store.save(CREDENTIALS)
    real_store.save_session_id(SESSION_ID)

    files = [path for path in keyring_env.home.rglob("*") if path.is_file()]
    assert any(path.name.endswith(".keyring") for path in files), "keyring file not where expected"
    for path in files:
        content = path.read_bytes()
        assert CREDENTIALS.password.encode() not in content, path
        assert SESSION_ID.encode() not in content, path


def test_corrupt_entry_reads_as_nothing_and_is_replaced_on_save(
    real_store: CredentialStore, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_password(SERVICE, ENTRY, '{"api_id": "1", "password": ' + CREDENTIALS.password)

    with caplog.at_level(logging.WARNING, logger="tray_app.services.credentials"):
        assert real_store.load() is None
        assert real_store.load_session_id() is None
    assert "unusable (not valid JSON)" in caplog.text
    assert_no_secret_logged(caplog)
    assert real_store.persistent

    real_store.save(CREDENTIALS)
    assert CredentialStore().load() == CREDENTIALS


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("[" * 8_000 + "]" * 8_000, "nested more than 2 levels deep"),
        ("[" * 100_000 + "]" * 100_000, "longer"),
        ('{"api_id": "1", "user": "u", "password": "p", "x": "' + "a" * 20_000 + '"}', "longer"),
    ],
    ids=["8 000 levels deep", "100 000 levels deep", "20 000 characters"],
)
def test_a_hostile_entry_is_reported_and_login_overwrites_it(
    real_store: CredentialStore, caplog: pytest.LogCaptureFixture, payload: str, reason: str
) -> None:
    """Neither a RecursionError nor memory-only for the run: the next sign-in repairs it."""
    keyring.set_password(SERVICE, ENTRY, payload)
    with caplog.at_level(logging.WARNING, logger="tray_app.services.credentials"):
        assert real_store.load() is None
    assert f"unusable ({reason}" in caplog.text
    assert real_store.persistent
    assert real_store.problem is None

    real_store.save(CREDENTIALS)
    assert CredentialStore().load() == CREDENTIALS


# --- no usable keyring: memory only for the rest of the run ---


@pytest.mark.parametrize("how", ["set_keyring", "PYTHON_KEYRING_BACKEND"])
def test_no_backend_keeps_secrets_in_memory(
    how: str,
    use_backend: Callable[[KeyringBackend], None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if how == "set_keyring":
        use_backend(fail.Keyring())
    else:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # detect again
    store = CredentialStore()

    with caplog.at_level(logging.WARNING, logger="tray_app.services.credentials"):
        store.save(CREDENTIALS)
        store.save_session_id(SESSION_ID)
        assert store.load() == CREDENTIALS
        assert store.load_session_id() == SESSION_ID

    assert not store.persistent
    assert store.problem is not None
    assert store.problem.startswith("No system keyring is available (install gnome-keyring")
    assert len(caplog.records) == 1
    assert_no_secret_logged(caplog)


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (KeyringLocked("Failed to unlock the collection!"), "locked"),
        (InitError("Failed to create the collection: Prompt dismissed."), "could not be opened"),
        (KeyringError("refused"), "refused"),
        (OSError("D-Bus went away"), "failed unexpectedly"),
    ],
)
def test_refusing_keyring_switches_to_memory(
    error: Exception,
    says: str,
    use_backend: Callable[[KeyringBackend], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = RaisingBackend(error)
    use_backend(backend)
    store = CredentialStore()

    with caplog.at_level(logging.WARNING, logger="tray_app.services.credentials"):
        store.save(CREDENTIALS)
        calls = backend.calls
        store.save_session_id(SESSION_ID)
        store.clear()
        store.save(CREDENTIALS)

    assert store.load() == CREDENTIALS
    assert store.load_session_id() is None
    assert not store.persistent
    assert store.problem is not None
    assert says in store.problem
    assert backend.calls == calls, "the keyring was used again after it failed"
    assert len(caplog.records) == 1
    assert_no_secret_logged(caplog)


def test_keyring_that_does_not_answer_is_given_up_within_the_timeout(
    use_backend: Callable[[KeyringBackend], None],
) -> None:
    backend = BlockingBackend()
    use_backend(backend)
    store = CredentialStore(timeout=0.3)
    try:
        started = time.monotonic()
        assert store.load() is None
        assert time.monotonic() - started < 2.0

        assert not store.persistent
        assert store.problem is not None
        assert "did not answer within 0.3 seconds" in store.problem
        store.save(CREDENTIALS)
        assert store.load() == CREDENTIALS
        assert backend.calls == 1
    finally:
        backend.release.set()


def test_memory_only_never_touches_the_keyring(
    use_backend: Callable[[KeyringBackend], None],
) -> None:
    backend = DictBackend()
    use_backend(backend)
    store = CredentialStore(memory_only=True)

    store.save(CREDENTIALS)
    store.save_session_id(SESSION_ID)
    assert store.load() == CREDENTIALS
    assert store.load_session_id() == SESSION_ID
    store.clear()
    assert store.load() is None

    assert backend.calls == 0
    assert not store.persistent
    assert store.problem is not None
    assert "not used" in store.problem


@pytest.mark.parametrize(
    "payload",
    ["{not json", "[1, 2]", '{"api_id": 5, "user": "u", "password": "p"}', '{"api_id": "1"}'],
)
def test_unusable_entry_reads_as_nothing(
    payload: str, use_backend: Callable[[KeyringBackend], None], caplog: pytest.LogCaptureFixture
) -> None:
    backend = DictBackend()
    backend.items[(SERVICE, ENTRY)] = payload
    use_backend(backend)

    with caplog.at_level(logging.WARNING, logger="tray_app.services.credentials"):
        assert CredentialStore().load() is None
    assert "is unusable" in caplog.text
    assert payload not in caplog.text


def test_plaintext_backend_is_refused(use_backend: Callable[[KeyringBackend], None]) -> None:
    plaintext_class = type("PlaintextKeyring", (DictBackend,), {"__module__": "keyrings.alt.file"})
    backend = plaintext_class()
    use_backend(backend)
    store = CredentialStore()

    store.save(CREDENTIALS)

    assert backend.items == {}
    assert not store.persistent
    assert store.problem is not None
    assert "plain file" in store.problem
    assert store.load() == CREDENTIALS


def test_chained_plaintext_backend_is_skipped_for_a_real_one(
    use_backend: Callable[[KeyringBackend], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    plaintext = type("PlaintextKeyring", (DictBackend,), {"__module__": "keyrings.alt.file"})()
    secure = DictBackend()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [plaintext, secure])
    use_backend(chainer.ChainerBackend())
    store = CredentialStore()

    store.save(CREDENTIALS)

    assert plaintext.items == {}
    assert json.loads(secure.items[(SERVICE, ENTRY)])["password"] == CREDENTIALS.password
    assert store.persistent


@pytest.mark.parametrize(
    ("make_backend", "words"),
    [(null.Keyring, "turned off"), (ForgetfulBackend, "did not keep")],
    ids=["null backend", "keyring that keeps nothing"],
)
def test_a_keyring_that_stores_nothing_means_memory_only(
    use_backend: Callable[[KeyringBackend], None],
    make_backend: Callable[[], KeyringBackend],
    words: str,
) -> None:
    use_backend(make_backend())
    store = CredentialStore()

    store.save(CREDENTIALS)

    assert not store.persistent
    assert store.problem is not None
    assert words in store.problem
    assert store.load() == CREDENTIALS


def test_concurrent_writers_leave_one_valid_entry(
    use_backend: Callable[[KeyringBackend], None],
) -> None:
    backend = DictBackend()
    use_backend(backend)
    store = CredentialStore()
    store.save(CREDENTIALS)
    ids = [f"{n:032x}" for n in range(16)]

    threads = [threading.Thread(target=store.save_session_id, args=(sid,)) for sid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entry = json.loads(backend.items[(SERVICE, ENTRY)])
    assert entry["session_id"] in ids
    assert entry["password"] == CREDENTIALS.password
    assert store.persistent


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        CredentialStore(timeout=0)
