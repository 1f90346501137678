from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rasure_web.accounts"
    label = "accounts"
    verbose_name = "Accounts, roles and the access log"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from rasure_web.accounts import refusals, signin

        signin.connect()
        connection_created.connect(refusals.install, dispatch_uid="rasure-log-refusals")
