import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Alembic's logging set-up; the app's loggers made before it (a migration run in the serving
# process at start-up, `sealflow init`) must keep logging: not disabled.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def _models_only(name, kind, _parents):
    from processes.archive import fts
    return not (kind == 'table' and name is not None and fts.foreign_to_models(name))


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    # The full-text index's own tables (SQLite FTS5: 0026) are no models: autogenerate
    # leaves them alone.
    conf_args.setdefault("include_name", _models_only)

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == 'sqlite'
        if sqlite:
            # SQLite changes a table by copying it, dropping it and renaming the copy: with
            # foreign keys enforced, the drop deletes the rows that point at it (ON DELETE
            # CASCADE: every task of every request) or fails (a signing grant). So they are
            # off while migrating, and each migration is checked before it commits.
            _sqlite_foreign_keys(connection, False)
            conf_args = {**conf_args,
                         'on_version_apply': _sqlite_check_foreign_keys}
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, True)


def _sqlite_foreign_keys(connection, enforced):
    """Turn SQLite's foreign keys on or off for this (pooled) connection. The pragma does
    nothing inside a transaction: it goes to the driver's connection, outside one."""
    if connection.in_transaction():  # alembic has committed or rolled back each migration
        connection.rollback()
    driver = connection.connection.driver_connection
    driver.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != int(enforced):
        raise RuntimeError("SQLite's foreign key enforcement could not be changed")


def _sqlite_check_foreign_keys(ctx, step, heads, run_args):
    """Before a migration commits: no row may point at a row that is not there."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(
            f"migration {step.up_revision_id} ({'upgrade' if step.is_upgrade else 'downgrade'}) "
            "leaves rows that point at nothing (table, rowid, parent): "
            f"{[tuple(row[:3]) for row in broken[:10]]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
