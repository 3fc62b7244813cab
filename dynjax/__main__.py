import sys

from dynjax.apps.cli import main

sys.exit(main())
