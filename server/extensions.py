"""Flask extensions, created unbound and initialised in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# Objects stay readable after commit: a step commits and then answers from what it wrote,
# instead of reloading every attribute (each request gets a fresh session anyway).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
# Sign-in limits (server/web/auth, server/web/api); storage and switches come from settings.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
