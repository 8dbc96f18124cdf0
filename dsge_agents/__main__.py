"""``python -m dsge_agents ...``: the ``dsge-agents`` command, for environments where the
console script is not on PATH."""

import sys

from dsge_agents.cli.main import main

sys.exit(main())
