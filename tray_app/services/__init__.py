"""Services with side effects: the HTTP client, the keyring store, settings, autostart, logs."""
