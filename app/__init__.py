"""The Flask application: ``create_app`` wires extensions, blueprints, errors, CLI and jobs."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the app. Does no work beyond wiring: no database access, no key loading."""
    config = config or Config()
    config.validate()
    app = Flask(__name__, instance_path=str(config.DATA_DIR))
    app.config.from_object(config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config)
    Path(config.DATA_DIR).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    # SpiffWorkflow logs every task state change at INFO: far too chatty (and slow) for a server.
    for noisy in ("alembic", "spiff"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from app import auth, cli, errors, i18n, inputs, jobs, transactions
    from app.api import blueprint as api_blueprint
    from app.extensions import csrf, db, login_manager, migrate
    from app.pki import blueprint as pki_blueprint
    from app.web import init_app as init_web
    from processes import audit_keys
    from processes.db import configure_engine
    from processes.isotime import set_timezone

    inputs.init_app(app)  # before any route or hook is added
    set_timezone(config.TIMEZONE)
    db.init_app(app)
    with app.app_context():  # SQLite: writers BEGIN IMMEDIATE (PostgreSQL: processes.audit)
        configure_engine(db.engine, config.SQLITE_BUSY_TIMEOUT)
        audit_keys.use(db.engine, audit_keys.keyring(
            config.AUDIT_KEY or "", config.AUDIT_OLD_KEYS, config.AUDIT_HEAD_FILE))
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True)
    i18n.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    transactions.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(pki_blueprint)
    init_web(app)
    cli.init_app(app)
    jobs.init_app(app)
    return app


def _engine_options(config: Config) -> dict:
    from processes.limits import read_json

    options = dict(config.SQLALCHEMY_ENGINE_OPTIONS)
    options.setdefault("json_deserializer", read_json)
    if config.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": config.SQLITE_BUSY_TIMEOUT,
                                            "check_same_thread": False})
    else:
        # No pre-ping: it costs a round trip on every checkout; recycle connections instead.
        options.setdefault("pool_recycle", 1800)
    return options
