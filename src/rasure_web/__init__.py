"""Rasure web: the Django project (dashboard, JSON API, patrol app)."""
