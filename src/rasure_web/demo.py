"""``rasure demo``: a seeded synthetic city, demo users for each role, and the server.

Refuses to run with ``RASURE_ENV=production``: demo users have published passwords.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from rasure_web.accounts.roles import ALL_ROLES, ROLE_DESCRIPTIONS

DEMO_PASSWORD = "rasure-demo-{role}"


def demo_users() -> list[tuple[str, str, str]]:
    """(username, password, role) for each demo user; the username is the role's name."""
    return [(role, DEMO_PASSWORD.format(role=role), role) for role in ALL_ROLES]


def ensure_demo_users() -> None:
    user_model = get_user_model()
    for username, password, role in demo_users():
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.first_name = f"Demo {role}"
        user.is_staff = role == "admin"
        user.is_superuser = role == "admin"
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
    _demo_intelligence()
    _demo_profiles()


def _demo_intelligence() -> None:
    """The demo analyst may see the synthetic city's invented people; the demo supervisor sees numbers
    only, so both sides of the permission can be tried (docs/hot-people.md)."""
    from django.contrib.auth.models import Permission

    perm = Permission.objects.get(content_type__app_label="people", codename="intelligence")
    get_user_model().objects.get(username="analyst").user_permissions.add(perm)


# Demo users in the synthetic force: the officer and supervisor on a Central response team, with collar
# numbers outside the synthetic officers' range (1000-9999).
_DEMO_COLLARS = {"officer": ("0001", "C-RT1"), "supervisor": ("0002", "C-RT1")}


def _demo_profiles() -> None:
    from rasure_web.accounts.models import Force, Organisation, Profile, Team
    from rasure_web.accounts.services import DEMO_FORCE
    from rasure_web.clock import now

    force = Force.objects.filter(code=DEMO_FORCE).first()
    if force is None:
        return
    from rasure_web.partners.services import demo_partner_ensure

    org = Organisation.objects.filter(code=DEMO_FORCE).first()
    agreement = demo_partner_ensure()
    user_model = get_user_model()
    for username, _password, role in demo_users():
        collar, team_code = _DEMO_COLLARS.get(role, ("", ""))
        team = Team.objects.filter(force=force, code=team_code).first() if team_code else None
        Profile.objects.update_or_create(
            user=user_model.objects.get(username=username),
            defaults={
                "force": force,
                # the demo partner works for the synthetic violence reduction unit, not the force
                "organisation": agreement.organisation if role == "partner" and agreement else org,
                "team": team,
                "collar_number": collar,
                "updated_at": now(),
            },
        )


def run_demo(*, host: str, port: int, serve: bool, scale: float) -> int:
    if settings.PRODUCTION:
        print(
            "rasure demo refuses to run with RASURE_ENV=production (demo users have known passwords).",
            file=sys.stderr,
        )
        return 2
    from rasure_web import clock

    print("Preparing the database ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.crimes.services import synthetic_city_load

    if not CrimeRecord.objects.filter(source="synthetic").exists():
        print("Generating the synthetic city (invented data) ...", flush=True)
        from rasure.synth import default_end

        stats = synthetic_city_load(scale=scale, end=default_end(clock.local_today()))
        print(
            f"  {stats['records']:,} synthetic crimes, {stats['people']:,} synthetic people, "
            f"{stats['areas']} areas",
            flush=True,
        )
    else:
        print("Synthetic city already loaded.", flush=True)
    try:
        from rasure_web.analysis.services import hotspots_build_demo
    except ImportError:
        hotspots_build_demo = None
    if hotspots_build_demo is not None:
        print("Building hot spots ...", flush=True)
        print("  " + hotspots_build_demo(), flush=True)
        from rasure_web.trials.lifecycle import trial_demo_commit, trial_demo_past

        print("Committing a demonstration trial (synthetic, starts today) ...", flush=True)
        print("  " + trial_demo_commit(), flush=True)
        print("A completed past demonstration trial (synthetic, with invented visits) ...", flush=True)
        print("  " + trial_demo_past(), flush=True)
    from rasure_web.dashboard.selectors import warm_cache
    from rasure_web.programme.demo import programme_demo_store

    warm_cache()
    ensure_demo_users()
    print("Programme examples (synthetic operations, training, delivery model) ...", flush=True)
    print("  " + programme_demo_store(today=clock.local_today()), flush=True)
    from rasure_web.partners.services import demo_partner_data_ensure

    loaded = demo_partner_data_ensure()
    if loaded is not None:
        print(f"  {loaded.rows:,} synthetic emergency-department assaults (partner data) loaded", flush=True)
    base = f"http://{host}:{port}"
    print("\n" + "=" * 72)
    print(" Rasure demo — SYNTHETIC DATA ONLY (no real crimes or people)")
    print("=" * 72)
    print(f" Sign in:        {base}/accounts/login/")
    print(f" Overview:       {base}/")
    print(f" Administration: {base}/admin/")
    print("\n Demo logins (username / password):")
    for username, password, role in demo_users():
        print(f"   {username:<11} / {password:<26} {ROLE_DESCRIPTIONS[role]}")
    from rasure_web.partners.services import DEMO_AGREEMENT, DEMO_PARTNER_ORG_NAME

    print(
        f"\n Partner portal: {base}/partners/ (sign in as partner: {DEMO_PARTNER_ORG_NAME},"
        f" agreement {DEMO_AGREEMENT}, Central and North LPAs)"
    )
    print("=" * 72 + "\n", flush=True)
    if not serve:
        return 0
    import argparse

    from rasure_web.cli import cmd_serve

    return cmd_serve(argparse.Namespace(host=host, port=port, workers=2))
