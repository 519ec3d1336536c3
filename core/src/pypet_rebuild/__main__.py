from __future__ import annotations

import sys

from pypet_rebuild.cli import main

sys.exit(main())
