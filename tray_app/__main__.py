from tray_app.cli.main import main

raise SystemExit(main())
