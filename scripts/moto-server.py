"""moto's server (`moto_server`), with two changes:
- the list of moto's service modules, which moto reads from its package
  directory on every request (`list_of_moto_modules`, a directory listing
  and a stat per entry), is read once at start. It is the same list for the
  server's lifetime, and the listing was 8 % of moto's CPU time in the
  year-long simulation;
- with REMPART_MOTO_REQUEST_LOG=0, werkzeug's line per request is not
  written (9 % of moto's CPU time in the simulation, py-spy, 2026-12-03;
  its 55,000 lines help no one). Errors and moto's own messages still are.
"""
import logging
import os
import re
import sys

import moto.backends as backends

_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_modules)

from moto.server import main  # noqa: E402

if os.environ.get("REMPART_MOTO_REQUEST_LOG") == "0":
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
