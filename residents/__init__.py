"""Residents: registration, household and partners, My data, applications (feature.py)."""
