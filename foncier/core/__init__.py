"""Infrastructure every feature stands on: settings (config), database sessions, locks and
the one find-or-refuse helper (db), typed errors, bounds on JSON and WKT from outside
(bounded_text), who may do what (permissions: Actor), the audit trail, paging, French phrases,
CSV and Excel layout (spreadsheets), migrations and the local PostGIS cluster (pgcluster).
Imports no feature package.
"""
