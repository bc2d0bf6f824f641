"""QR check-in and check-out at child-support centers (services, staff blueprint, templates)."""
