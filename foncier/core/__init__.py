"""Infrastructure every feature stands on: settings, database sessions and locks, typed errors, who
may do what (Actor), the audit trail, paging, French phrases, migrations and the local PostGIS
cluster. Imports no feature package."""
