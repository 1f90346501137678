from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rasure_web.accounts"
    label = "accounts"
    verbose_name = "Accounts, roles and the access log"

    def ready(self) -> None:
        from rasure_web.accounts import signin

        signin.connect()
