"""`python -m transcriber` runs the same CLI as the `transcriber` console script."""

from transcriber.cli import main

raise SystemExit(main())
