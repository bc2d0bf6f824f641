"""The staff web shell: sign-in, roles scoped to centers and departments, audit log, layout.

Loaded as a feature (staff/feature.py); other features build their pages on its public
modules (access, audit, nav, templating, database, forms, errors). See docs/staff-web.md.
"""
