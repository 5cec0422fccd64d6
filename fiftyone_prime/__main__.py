"""``python -m fiftyone_prime``: the command line."""

import sys

from fiftyone_prime.cli import main

sys.exit(main())
