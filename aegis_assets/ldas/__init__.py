"""The LDAS (live data archive) asset group."""
