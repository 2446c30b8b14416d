"""moto's server (`moto_server`), with one change: the list of moto's
service modules, which moto reads from its package directory on every
request (`list_of_moto_modules`, a directory listing and a stat per entry),
is read once at start. It is the same list for the server's lifetime, and
the listing was 8 % of moto's CPU time in the year-long simulation."""
import re
import sys

import moto.backends as backends

_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_modules)

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
