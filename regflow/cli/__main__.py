"""`python -m regflow.cli ...`: the same as the `regflow` console script."""

from regflow.cli import main

raise SystemExit(main())
