"""Alembic environment: migrations run on the connection the Store hands over (`Store.upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dojo.store import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` run by hand: connect to the configured URL
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as own:
            _migrate(own)
        return
    _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
