"""``python -m automl``: the ``automl`` command."""

from __future__ import annotations

import sys

from automl.cli import main

sys.exit(main())
