from morphapp.cli.main import main

raise SystemExit(main())
