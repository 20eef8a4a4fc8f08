"""Engine, sessions, Base, SQLite pragmas, write transactions; migrations/ (Alembic)."""
