"""The session types the layers above name in their signatures, so that only `lisens.db` imports SQLAlchemy."""

from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]

__all__ = ["Session", "SessionFactory"]
