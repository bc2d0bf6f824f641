"""QR check-in and check-out at child-support centers (declared in feature.py)."""
