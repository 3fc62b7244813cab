import sys

from dynjax.cli import main

sys.exit(main())
