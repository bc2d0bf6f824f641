"""Usage rollups and charts for staff, fed by the scheduled aggregation of visit logs (feature.py)."""
