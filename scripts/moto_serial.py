"""moto's server, answering one request at a time, for race tests on DynamoDB.

moto's threaded server (`moto_server`) rolls a failed TransactWriteItems back by restoring a
snapshot of the table taken when that transaction began, which erases writes that other
requests committed meanwhile: races then lose writes that DynamoDB never loses. Served one
request at a time (and HTTP/1.0, so no client holds the server with a kept-alive connection),
each transaction runs alone. Usage: python3 scripts/moto_serial.py PORT
"""

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

port = int(sys.argv[1])
os.environ.setdefault("MOTO_PORT", str(port))
run_simple("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), threaded=False)
