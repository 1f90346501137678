"""Password sign-in: Django's ModelBackend, loading the user and their roles in one query per request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from rasure_web.accounts.roles import user_with_roles


class RolesModelBackend(ModelBackend):
    """ModelBackend whose ``get_user`` (run by the authentication middleware on every request) reads the
    user's roles with the same query, so a patrol API request spends no query on its role check."""

    def get_user(self, user_id: Any) -> Any:
        user = user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
