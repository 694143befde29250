"""Use cases over the database: one unit of work per call; services flush, the boundary commits."""
