"""moto's server for the tests, on 127.0.0.1, without moto's cost of a DynamoDB transaction.

Usage: python3 scripts/moto_server.py PORT [--serial] [--host ADDRESS]

It listens on 127.0.0.1 unless `--host` names another local address (the `sam local` checks
use the gateway of their Docker daemon's bridge, which the functions' containers can reach).

Stopped by SIGTERM or SIGINT; with MOTO_PEAK_DIR set, it first writes its peak resident memory
(ru_maxrss) into a file of that folder (scripts/test.sh prints them all at the end).

Changes to the stock `moto_server` (moto 5.2.5, scripts/tools-requirements.txt); the first
two fix costs that grew with the table, the last two only make each request cheaper:

* TransactWriteItems takes its rollback snapshot by deep-copying each table it touches, once
  per item of the transaction: every item, index and stream record of the table. A
  transaction on a table of n items costs O(n), so a test that makes 1,000 users through
  transactions on one table is quadratic and takes many minutes. Here a transaction
  remembers instead the items it names as they were before it, and the length of the
  table's stream; when it fails, those items are put back and the stream records it wrote
  are dropped: the same all-or-nothing answer, at the cost of the transaction's own items.
  (It also no longer erases writes that other requests committed meanwhile.)

* moto keeps every instance of its model classes in `cls.instances_tracked`, for its
  `/moto-api/data.json` dashboard, and never lets go of one: each of those table copies
  stayed in memory for good, and a run's server passed 13 GB. Deleting the table freed none
  of it. Here DynamoDB's models are not tracked, so DynamoDB frees what it no longer uses.
  Every other service stays tracked: the SES tests read the messages moto sent from
  `/moto-api/data.json` (tests/support/moto.rs).

* `--serial` answers one request at a time (and speaks HTTP/1.0, so no client holds the
  server with a kept-alive connection), for the race tests: moto's requests do not lock
  the tables, so concurrent transactions on the threaded server interleave. Served one
  request at a time, each transaction runs alone.

* Serialising an answer asked every alias provider for the possible names of every member of
  every structure, for every attribute value again; for plain dicts (DynamoDB's answers) the
  names are worked out once per service, key and shape (`_get_value`). And the service a Host
  header names is remembered instead of matched against every service's URL patterns on each
  request. Together: 47.7 s → 36.7 s for the 1,000-command provisioning test alone
  (docs/performance.md, "The test command").
"""

import copy
import os
import resource
import signal
import sys

import moto.core.utils as moto_utils
import moto.dynamodb.models as dynamodb_models
from moto.core import serialize
from moto.core.common_models import BaseModel
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from werkzeug.serving import run_simple

_tracked_new = BaseModel.__new__


def _new(cls, *args, **kwargs):
    if cls.__module__.startswith("moto.dynamodb"):
        return object.__new__(cls)
    return _tracked_new(cls, *args, **kwargs)


BaseModel.__new__ = _new


class _CopyButNotTables:
    """`copy` as moto's DynamoDB backend sees it: its one deep copy of a Table is the
    transaction's snapshot, which `_transact_write_items` below replaces."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = _CopyButNotTables
_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    before = []  # (table, hash key, range key, the item before the transaction or None)
    streams = {}  # id(table) -> (its stream shard, the shard's length before)
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            if "Key" in op:
                key = op["Key"]
            else:
                names = [table.hash_key_attr, table.range_key_attr]
                key = {name: op["Item"][name] for name in names if name is not None}
            hash_key, range_key = self.get_keys_value(table, key)
            item = table.get_item(hash_key, range_key)
        except Exception:
            continue  # a malformed entry writes nothing; moto's own checks answer it
        before.append((table, hash_key, range_key, copy.deepcopy(item)))
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    try:
        _moto_transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, item in reversed(before):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items.setdefault(hash_key, {})[range_key] = item
        for shard, length in streams.values():
            del shard.items[length:]
        raise


DynamoDBBackend.transact_write_items = _transact_write_items

# Serialising a response: moto walks the botocore shape of the answer and, for each member
# of each structure, asks every alias provider for the key's possible names, for every item
# and every attribute value (ten members each) again: a third of the server's time on the
# 1,000-user tests. For a plain dict (what DynamoDB's handlers answer), those names depend only
# on the service, the key and the shapes, so they are worked out once and remembered.
_possible_keys = {}
_moto_get_value = serialize.ResponseSerializer.get_value


def _get_value(self, value, key, shape):
    picker = self._value_picker
    if (
        type(value) is not dict
        or not isinstance(picker, serialize.AttributePicker)
        or picker.response_transformers
    ):
        return _moto_get_value(self, value, key, shape)
    parent = getattr(shape, "parent", None)
    service = self.operation_model.service_model
    remembered = (
        service.service_name,
        type(picker),
        tuple(picker.alias_providers),
        key,
        getattr(shape, "name", None),
        getattr(parent, "name", None),
    )
    keys = _possible_keys.get(remembered)
    if keys is None:
        context = serialize.AttributePickerContext(
            obj=value,
            key=key,
            shape=shape,
            operation_model=self.operation_model,
            service_model=service,
            key_path=".".join(self.path),
        )
        keys = tuple(picker.get_possible_keys(context))
        _possible_keys[remembered] = keys
    for possible in keys:
        found = moto_utils.get_value(value, possible, moto_utils.MISSING)
        if found is not moto_utils.MISSING:
            return found
    return None


serialize.ResponseSerializer.get_value = _get_value

# Which service a request is for: moto matches the Host header against every service's URL
# patterns on each request. The answer for a host does not change: remembered.
_backend_for_host = {}
_moto_get_backend_for_host = DomainDispatcherApplication.get_backend_for_host


def _get_backend_for_host(self, host):
    if host not in _backend_for_host:
        if len(_backend_for_host) > 1024:
            _backend_for_host.clear()
        _backend_for_host[host] = _moto_get_backend_for_host(self, host)
    return _backend_for_host[host]


DomainDispatcherApplication.get_backend_for_host = _get_backend_for_host

port = int(sys.argv[1])
serial = "--serial" in sys.argv[2:]
host = sys.argv[sys.argv.index("--host") + 1] if "--host" in sys.argv[2:] else "127.0.0.1"
os.environ.setdefault("MOTO_PORT", str(port))


def _stop(signum, _frame):
    """Stops the server; with MOTO_PEAK_DIR set (scripts/test.sh), first writes this process's
    peak resident memory there, one file per server, for the run's memory table."""
    folder = os.environ.get("MOTO_PEAK_DIR")
    if folder:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kind = "serial" if serial else "threaded"
        with open(os.path.join(folder, f"moto-{port}"), "w") as out:
            out.write(f"{port} {kind} {peak_kb}\n")
    os._exit(128 + signum)


signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
run_simple(
    host,
    port,
    DomainDispatcherApplication(create_backend_app),
    threaded=not serial,
    request_handler=MotoRequestHandler,
)
