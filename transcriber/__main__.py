"""`python -m transcriber` runs the same front door as the `transcriber` console script (`transcriber.launch`)."""

from transcriber.launch import main

raise SystemExit(main())
