"""SQL persistence, the one package that imports SQLAlchemy and Alembic.

``models`` (the schema), ``migrations`` (Alembic, the only way the schema is made), ``engine``
(URLs, SQLite durability, upgrade), ``repository`` (the SQL trading repository) with ``hot_path``,
``bots`` (state folders, sessions, account binding), ``runs`` (the registry of runs), ``queries``
(operator queries), ``backup``, ``audit`` (hash-chained operator actions).
"""
