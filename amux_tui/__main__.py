from amux_tui.cli import main

raise SystemExit(main())
