"""``python -m s4_generate ...`` == ``s4-generate ...``."""

from s4_generate.cli import main

raise SystemExit(main())
