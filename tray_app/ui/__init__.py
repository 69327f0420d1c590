"""What the user sees: the tray view, icons, clipboard, notifications, dialogs."""
