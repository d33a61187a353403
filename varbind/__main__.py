import sys

from varbind.cli import main

sys.exit(main())
