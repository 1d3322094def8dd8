from tests.pgserver import pg_dsn, postgres_server

__all__ = ["pg_dsn", "postgres_server"]
