"""Residents: registration, household and partners, My data, applications, the rich menu."""
