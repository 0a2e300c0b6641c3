"""The store: PostgreSQL (with TimescaleDB where present) connections, schema and upkeep.

``connect`` opens a connection or fails with one line naming ``IOC_DATABASE_URL``;
``migrate`` brings the schema up to date; ``maintain`` applies retention;
``database_status`` tells the schema version and whether TimescaleDB is active.
"""

from store.connect import connect
from store.maintain import maintain
from store.migrate import migrate
from store.status import database_status

__all__ = ["connect", "database_status", "maintain", "migrate"]
